"""The nurse's morning in Chromium: Today sorted for 8 o'clock, deadlines as working days."""

import re

import pytest

from tests.support.browser import login

pytestmark = pytest.mark.browser

WEEKDAY_DATE = re.compile(r"(mandag|tirsdag|onsdag|torsdag|fredag) \d\d\.\d\d\.")


def test_today_opens_with_todays_meetings_and_deadlines_and_groups_the_flags(page, world):
    login(page, world)
    page.wait_for_url("**/today")
    sections = page.locator("[data-section]")
    keys = [sections.nth(i).get_attribute("data-section") for i in range(sections.count())]
    assert keys[0] == "today" and keys.index("flags") < keys.index("meetings")
    top = page.locator('[data-section="today"]').bounding_box()
    assert top["y"] < 300  # the first thing she sees, not 2,854 px down
    # Each flag line names what it is about; no line repeats another.
    lines = page.locator('[data-section="flags"] [data-flag]').all_inner_texts()
    assert len(lines) == len(set(lines))
    # Deadlines read as the working day they end, never as a weekend midnight (a deadline in
    # hours keeps its time, and may fall on any day).
    whens = page.locator("time.item-when").all_inner_texts()
    assert whens
    for when in whens:
        assert WEEKDAY_DATE.search(when) or " kl. " in when, when
