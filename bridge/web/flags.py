"""The flags page: the live worklist, where the nurse acknowledges, snoozes or resolves a flag
(bridge.domain.gaps.services)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bridge.domain.base import utcnow
from bridge.domain.errors import RuleViolation
from bridge.domain.gaps import services
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp, current_language
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, at, date_field, text_field
from bridge.web.worklist import (
    ROWS,
    flag_advice,
    flag_age,
    flag_message,
    patient_names,
    severity_word,
    subject_href,
    subject_text,
)

SNOOZE_UNTIL = time(8, 0)  # a snoozed flag is back at the start of the chosen day


AGES = {"7": 7, "30": 30}  # "open longer than" choices, in days


def _filters() -> dict[str, Any]:
    """The worklist's filters from the query string; unknown values are ignored."""
    args = request.args
    patient = args.get("patient", "")
    return {
        "rule": args.get("rule") or None,
        "patient": int(patient) if patient.isdigit() and len(patient) < 12 else None,
        "age": args.get("age") if args.get("age") in AGES else None,
        "group": args.get("group") if args.get("group") in ("patient", "rule") else None,
    }


def _render(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    p, now = g.principal, utcnow()
    session = db.session()
    chosen = _filters()
    page = services.list_flags(
        session, p, status=None, rule=chosen["rule"], patient_id=chosen["patient"],
        nurse_id=None, cursor=None, limit=ROWS,
        detected_before=now - timedelta(days=AGES[chosen["age"]]) if chosen["age"] else None,
    )  # fmt: skip
    names = patient_names(session, p, [f.patient_id for f in page.items])
    subjects = services.flag_subjects(session, page.items)
    rows = [
        {
            "flag": f,
            "message": flag_message(f),
            "advice": flag_advice(f),
            "severity": severity_word(f.severity),
            "patient": names.get(f.patient_id) if f.patient_id else None,
            "subject": subject_text(subjects[f.id]),
            "subject_href": subject_href(subjects[f.id], f),
            "age": flag_age(f.first_detected_at, now),
        }
        for f in page.items
    ]
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    if chosen["group"]:
        by: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if chosen["group"] == "patient":
                key = str(row["patient"] or _("Your caseload"))
            else:
                key = str(row["message"])
            by.setdefault(key, []).append(row)
        groups = list(by.items())
    return render_template(
        "flags.html",
        rows=rows,
        groups=groups,
        choices=services.flag_filter_choices(session, p),
        chosen=chosen,
        english=current_language() == "en",
        now=now,
        errors=errors or {},
        form=request.form,
    ), status


@bp.get("/flags")
@login_required
def flags() -> ResponseReturnValue:
    """Every live flag: open, acknowledged and snoozed."""
    return _render()


@bp.post("/flags/<bigid:flag_id>")
@login_required
def flag_act(flag_id: int) -> ResponseReturnValue:
    """Acknowledge (with a note), snooze until a day, or resolve (with a note) one flag."""
    p = g.principal
    action = request.form.get("action", "")
    try:
        note = text_field(f"note-{flag_id}", 500, required=action == "resolve") or None
        if action == "acknowledge":
            data: dict[str, Any] = {"action": "acknowledge", "note": note}
        elif action == "snooze":
            data = {"action": "snooze", "until": at(date_field(f"until-{flag_id}"), SNOOZE_UNTIL)}
            if note:
                data["note"] = note
        elif action == "resolve":
            data = {"action": "resolve", "reason": note}
        else:
            raise FormError(f"note-{flag_id}", "?")
    except FormError as exc:
        return _render({str(flag_id): exc.message}, 422)
    flag = services.get_flag(db.session(), p, flag_id)
    try:
        services.act_on_flag(db.session(), p, flag, data)
    except RuleViolation as exc:
        return _render({str(flag_id): domain_text(exc)}, 422)
    return redirect(url_for("web.flags") + f"#flag-{flag_id}", 303)


@bp.post("/flags/bulk")
@login_required
def flags_bulk() -> ResponseReturnValue:
    """Acknowledge the chosen flags, or snooze them all to one day."""
    p = g.principal
    ids = [int(v) for v in request.form.getlist("flag") if v.isdigit() and len(v) < 12]
    action = request.form.get("action", "")
    try:
        if not ids:
            raise FormError("bulk", _("Tick the flags first."))
        if action == "acknowledge":
            data: dict[str, Any] = {"action": "acknowledge", "note": None}
        elif action == "snooze":
            data = {"action": "snooze", "until": at(date_field("bulk-until"), SNOOZE_UNTIL)}
        else:
            raise FormError("bulk", _("Choose what to do with the ticked flags."))
        services.act_on_flags(db.session(), p, ids, data)
    except FormError as exc:
        return _render({"bulk": exc.message}, 422)
    except RuleViolation as exc:
        db.session.rollback()
        return _render({"bulk": domain_text(exc)}, 422)
    # Back to the list as it was filtered.
    query = urlencode(request.args.to_dict())
    return redirect(url_for("web.flags") + (f"?{query}" if query else ""), 303)
