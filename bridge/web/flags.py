"""The flags page: the live worklist, where the nurse acknowledges, snoozes or resolves a flag
(bridge.domain.gaps.services)."""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bridge.domain.base import utcnow
from bridge.domain.errors import RuleViolation
from bridge.domain.gaps import services
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp
from bridge.web.domain_texts import domain_text
from bridge.web.forms import FormError, at, date_field, text_field
from bridge.web.worklist import ROWS, flag_advice, flag_message, patient_names, severity_word

SNOOZE_UNTIL = time(8, 0)  # a snoozed flag is back at the start of the chosen day


def _render(errors: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    p = g.principal
    page = services.list_flags(
        db.session(), p, status=None, rule=None, patient_id=None, nurse_id=None, cursor=None,
        limit=ROWS,
    )  # fmt: skip
    names = patient_names(db.session(), p, [f.patient_id for f in page.items])
    rows = [
        {
            "flag": f,
            "message": flag_message(f),
            "advice": flag_advice(f),
            "severity": severity_word(f.severity),
            "patient": names.get(f.patient_id) if f.patient_id else None,
        }
        for f in page.items
    ]
    return render_template(
        "flags.html", rows=rows, now=utcnow(), errors=errors or {}, form=request.form
    ), status


@bp.get("/flags")
@login_required
def flags() -> ResponseReturnValue:
    """Every live flag: open, acknowledged and snoozed."""
    return _render()


@bp.post("/flags/<int:flag_id>")
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
