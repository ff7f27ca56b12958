"""The minutes of a network meeting as a Danish PDF/A document, and as MedCom attachments."""

from __future__ import annotations

import gc
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from flask import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from bridge.domain.calendar import COPENHAGEN
from bridge.domain.meetings.minutes_document import MinutesDocument, load_minutes_documents
from bridge.domain.notifications.messages import Attachment
from bridge.domain.notifications.models import Notification

_TEMPLATES: Final = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
STATUS_DA: Final = {"draft": "Udkast", "final": "Endeligt"}
ACTION_STATUS_DA: Final = {"open": "Åben", "done": "Udført", "cancelled": "Annulleret"}
# PDF/A-3b: an archivable PDF with its fonts embedded, which WeasyPrint writes directly.
PDF_VARIANT: Final = "pdf/a-3b"


def _local(value: datetime | None, fmt: str = "%d.%m.%Y kl. %H:%M") -> str:
    return value.astimezone(COPENHAGEN).strftime(fmt) if value else ""


def render_minutes_html(doc: MinutesDocument) -> str:
    """The minutes as a self-contained Danish HTML page (the PDF's source)."""
    created = doc.finalised_at or datetime.now(UTC)
    return _env.get_template("minutes.html").render(
        doc=doc,
        status=STATUS_DA.get(doc.status, doc.status),
        action_status=ACTION_STATUS_DA,
        held=_local(doc.held_at),
        finalised=_local(doc.finalised_at),
        created_iso=created.astimezone(UTC).isoformat(timespec="seconds"),
        cpr=_cpr(doc.patient_cpr),
    )


def _cpr(value: str) -> str:
    return f"{value[:6]}-{value[6:]}" if len(value) == 10 and value.isdigit() else value


def render_minutes_pdf(doc: MinutesDocument) -> bytes:
    """The minutes as a PDF/A file."""
    from weasyprint import HTML  # heavy import, only where a PDF is made

    with warnings.catch_warnings():
        # WeasyPrint leaves the PDF/A colour profile (sRGB2014.icc) open; harmless, not ours.
        warnings.simplefilter("ignore", ResourceWarning)
        pdf = HTML(string=render_minutes_html(doc), base_url=str(_TEMPLATES)).write_pdf(
            pdf_variant=PDF_VARIANT
        )
        gc.collect()
    return pdf


def filename(doc: MinutesDocument) -> str:
    return f"referat-moede-{doc.meeting_id}-version-{doc.version_no}.pdf"


def minutes_attachments(session: Session, rows: list[Notification]) -> dict[int, list[Attachment]]:
    """For the dispatcher: the minutes PDF for each message that carries a minutes version.

    Each recipient's copy states its own legal basis, so a PDF is rendered per message; the
    data for the whole batch is read in a fixed number of queries.
    """
    wanted = {
        n.id: n.payload.get("ref") or {}
        for n in rows
        if (n.payload.get("ref") or {}).get("type") == "minutes_version"
    }
    docs = load_minutes_documents(session, {int(ref["id"]) for ref in wanted.values()})
    found: dict[int, list[Attachment]] = {}
    for notification_id, ref in wanted.items():
        doc = docs.get(int(ref["id"]))
        if doc is None:
            continue
        if ref.get("distribution_id") is not None:
            doc = doc.for_recipient(int(ref["distribution_id"]))
        found[notification_id] = [
            Attachment(
                title=f"Referat af netværksmøde, version {doc.version_no}",
                content_type="application/pdf",
                data=render_minutes_pdf(doc),
                created=doc.finalised_at or datetime.now(UTC),
            )
        ]
    return found


def pdf_response(doc: MinutesDocument) -> Response:
    """The PDF as a download; never cached, as it holds health data."""
    response = Response(render_minutes_pdf(doc), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(doc)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
