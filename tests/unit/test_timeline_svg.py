"""The server-drawn timeline: a pure function from items to SVG."""

import xml.etree.ElementTree as ET
from datetime import date

from bridge.web.timeline_svg import TimelineItem, draw_timeline, window

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 11, 23)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def items_of(root: ET.Element, kind: str) -> list[ET.Element]:
    return [e for e in root.iter() if f"tl-{kind}" in (e.get("class") or "").split()]


def test_window_is_the_last_twelve_months_through_today():
    assert window(TODAY) == (date(2025, 11, 23), TODAY)
    # the 29th of February a year later becomes the 28th
    assert window(date(2025, 2, 28), 12) == (date(2024, 2, 28), date(2025, 2, 28))
    assert window(date(2024, 3, 31), 1) == (date(2024, 2, 29), date(2024, 3, 31))


def test_admissions_are_bars_and_other_events_are_marks():
    root = parse(
        draw_timeline(
            [
                TimelineItem("admission", date(2026, 3, 1), date(2026, 3, 20), label="Psyk"),
                TimelineItem("meeting", date(2026, 5, 4), label="Netværksmøde"),
            ],
            TODAY,
        )
    )
    (bar,) = items_of(root, "admission")
    (mark,) = items_of(root, "meeting")
    assert bar.tag == SVG + "rect" and float(bar.get("width")) > 10
    assert mark.tag == SVG + "polygon"


def test_overdue_items_are_red_and_marked_with_more_than_colour():
    svg = draw_timeline([TimelineItem("task", date(2026, 10, 1), overdue=True)], TODAY)
    root = parse(svg)
    (task,) = items_of(root, "task")
    assert "tl-overdue" in task.get("class").split()
    assert any(e.get("class") == "tl-overdue-mark" for e in root.iter())
    on_time = parse(draw_timeline([TimelineItem("task", date(2026, 10, 1))], TODAY))
    assert "tl-overdue" not in items_of(on_time, "task")[0].get("class").split()


def test_items_outside_the_last_twelve_months_are_left_out_and_long_bars_are_clipped():
    root = parse(
        draw_timeline(
            [
                TimelineItem("meeting", date(2025, 1, 1)),
                TimelineItem("admission", date(2024, 6, 1), None),  # still admitted
            ],
            TODAY,
        )
    )
    assert items_of(root, "meeting") == []
    (bar,) = items_of(root, "admission")
    # starts at the left edge of the plot and runs up to today
    assert float(bar.get("x")) == 110
    today_line = next(e for e in root.iter() if e.get("class") == "tl-today")
    assert abs(float(bar.get("x")) + float(bar.get("width")) - float(today_line.get("x1"))) < 0.2


def test_later_dates_are_further_right():
    root = parse(
        draw_timeline(
            [
                TimelineItem("meeting", date(2026, 2, 1)),
                TimelineItem("meeting", date(2026, 9, 1)),
            ],
            TODAY,
        )
    )
    xs = [float(m.get("points").split(",")[0]) for m in items_of(root, "meeting")]
    assert xs[0] < xs[1]


def test_text_is_escaped_so_a_label_cannot_inject_markup():
    svg = draw_timeline(
        [TimelineItem("meeting", date(2026, 6, 1), label='<script>alert(1)</script>&"')],
        TODAY,
        lane_names={"meeting": "Møder <b>"},
        title='Tidslinje "x"',
    )
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)  # still well-formed XML
    assert root.get("aria-label") == 'Tidslinje "x"'


def test_month_labels_are_the_ones_given_and_the_year_is_shown_at_january():
    months = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    root = parse(draw_timeline([], TODAY, month_names=months))
    labels = [e.text for e in root.iter() if e.get("class") == "tl-axis"]
    assert labels[0] == "dec" and "jan 2026" in labels and "maj" in labels
    assert len(labels) == 12


def test_an_empty_timeline_is_still_a_valid_drawing_with_the_named_lanes():
    root = parse(draw_timeline([], TODAY, lane_names={"admission": "Indlæggelser"}))
    assert [e.text for e in root.iter() if e.get("class") == "tl-lane"] == ["Indlæggelser"]
