"""The overview page: a region's or health council's monthly figures, with bar charts drawn on
the server as SVG and the same figures in a table (for screen readers) and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from flask import Response, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from bridge.domain import overview as domain
from bridge.domain import overview_rollup
from bridge.domain.base import utcnow
from bridge.domain.registry.effective import copenhagen_today
from bridge.extensions import db
from bridge.web.auth import login_required
from bridge.web.blueprint import bp

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 40, 24, 10


def share_chart(title: str, months: Sequence[str], shares: Sequence[float | None]) -> str:
    """Bars of shares (0-1) per month; a month without cases has no bar and a dash."""
    n = max(len(months), 1)
    slot = (WIDTH - LEFT) / n
    plot = HEIGHT - BOTTOM - TOP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label={quoteattr(title)} class="overview-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 50, 100):
        y = TOP + plot * (1 - pct / 100)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{pct}%</text>'
        )
    for i, (month, share) in enumerate(zip(months, shares, strict=True)):
        x = LEFT + i * slot
        label = escape(month[2:])
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
            f'font-size="10">{label}</text>'
        )
        if share is None:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{TOP + plot - 4}" text-anchor="middle" '
                'font-size="11">&#8211;</text>'
            )
            continue
        h = plot * share
        parts.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{TOP + plot - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#2a6f97"><title>{label}: {share:.0%}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _load(org_id: int) -> domain.Overview:
    today = copenhagen_today(utcnow())
    last_arg, first_arg = request.args.get("to", ""), request.args.get("from", "")
    last = domain.parse_month(last_arg, "to") if last_arg else today.replace(day=1)
    first = domain.parse_month(first_arg, "from") if first_arg else domain.months_before(last, 11)
    return overview_rollup.read_overview(db.session(), g.principal, org_id, first, last, today)


@bp.get("/overview/<int:org_id>")
@login_required
def overview_page(org_id: int) -> ResponseReturnValue:
    """A region's or health council's figures per month (counts only)."""
    result = _load(org_id)
    months = [m.month for m in result.months]
    charts = [
        (
            _("Final minutes acknowledged by the GP within 2 working days"),
            [m.share_acknowledged_in_time for m in result.months],
        ),
        (
            _("Follow-up tasks done by their deadline"),
            [m.share_follow_ups_in_time for m in result.months],
        ),
        (
            _("Discharges with the nurse's contact within 72 hours"),
            [m.share_discharges_with_contact for m in result.months],
        ),
    ]
    svgs = [(title, Markup(share_chart(title, months, shares))) for title, shares in charts]
    return render_template("overview.html", result=result, charts=svgs, args=request.args)


@bp.get("/overview/<int:org_id>/csv")
@login_required
def overview_csv(org_id: int) -> ResponseReturnValue:
    """The same figures as CSV."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(domain.csv_rows(_load(org_id)))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="overview-{org_id}.csv"'},
    )
