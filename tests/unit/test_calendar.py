"""Tests for Danish working-day deadlines in bridge.domain.calendar."""

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import pytest

from bridge.domain.calendar import (
    COPENHAGEN,
    DEFAULT_CALENDAR,
    WorkingDayCalendar,
    _closed_dates,
    deadline_day,
    deadline_in_hours,
    deadline_text,
)

ALL_CLOSED = WorkingDayCalendar(frozenset({"grundlovsdag", "juleaften", "nytaarsaften"}))


def cph(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """Build an aware Copenhagen wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=COPENHAGEN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Build an aware UTC time."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- the reference dates the expectations below were worked out from -------------------------


def test_reference_dates_fall_on_the_expected_weekdays() -> None:
    # Guards the hand-worked expectations: if one of these is wrong, so are the tests using it.
    expected = {
        date(2026, 1, 9): calendar.FRIDAY,
        date(2026, 1, 15): calendar.THURSDAY,
        date(2026, 3, 27): calendar.FRIDAY,
        date(2026, 3, 29): calendar.SUNDAY,  # last Sunday of March: CET -> CEST
        date(2026, 4, 3): calendar.FRIDAY,  # Langfredag 2026
        date(2026, 4, 5): calendar.SUNDAY,  # Easter Sunday 2026
        date(2026, 10, 25): calendar.SUNDAY,  # last Sunday of October: CEST -> CET
        date(2025, 4, 18): calendar.FRIDAY,  # Langfredag 2025
        date(2025, 4, 20): calendar.SUNDAY,  # Easter Sunday 2025
        date(2025, 6, 5): calendar.THURSDAY,
        date(2025, 6, 9): calendar.MONDAY,  # 2. pinsedag 2025
        date(2025, 12, 24): calendar.WEDNESDAY,
        date(2025, 12, 31): calendar.WEDNESDAY,
        date(2023, 5, 5): calendar.FRIDAY,  # Store bededag 2023
        date(2024, 4, 26): calendar.FRIDAY,  # would have been Store bededag 2024
        date(2025, 5, 16): calendar.FRIDAY,  # would have been Store bededag 2025
    }
    actual = {d: calendar.weekday(d.year, d.month, d.day) for d in expected}
    assert actual == expected


# --- what the holidays library itself provides ------------------------------------------------


def test_library_lists_store_bededag_in_2023_but_not_from_2024() -> None:
    dk_2023 = holidays.country_holidays("DK", years=2023, language="da")
    dk_2024 = holidays.country_holidays("DK", years=2024, language="da")
    assert dk_2023.get(date(2023, 5, 5)) == "Store bededag"
    assert "Store bededag" not in dk_2024.values()
    assert date(2024, 4, 26) not in dk_2024


def test_library_default_for_dk_leaves_grundlovsdag_and_christmas_and_new_years_eve_open() -> None:
    dk = holidays.country_holidays("DK", years=2025)
    assert date(2025, 6, 5) not in dk
    assert date(2025, 12, 24) not in dk
    assert date(2025, 12, 31) not in dk
    assert date(2025, 5, 1) not in dk


# --- is_working_day --------------------------------------------------------------------------


def test_weekends_are_not_working_days() -> None:
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 1, 9))  # Friday
    assert not DEFAULT_CALENDAR.is_working_day(date(2026, 1, 10))  # Saturday
    assert not DEFAULT_CALENDAR.is_working_day(date(2026, 1, 11))  # Sunday
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 1, 12))  # Monday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),  # Nytårsdag
        date(2026, 4, 2),  # Skærtorsdag
        date(2026, 4, 3),  # Langfredag
        date(2026, 4, 6),  # 2. påskedag
        date(2026, 5, 14),  # Kristi himmelfartsdag
        date(2026, 5, 25),  # 2. pinsedag
        date(2026, 12, 25),  # Juledag
        date(2025, 12, 26),  # 2. juledag (a Friday in 2025)
    ],
)
def test_danish_public_holidays_are_not_working_days(holiday: date) -> None:
    assert holiday.weekday() < calendar.SATURDAY  # otherwise the test proves nothing
    assert not DEFAULT_CALENDAR.is_working_day(holiday)


def test_store_bededag_is_a_holiday_in_2023_but_a_working_day_in_2024_and_2025() -> None:
    assert not DEFAULT_CALENDAR.is_working_day(date(2023, 5, 5))
    assert DEFAULT_CALENDAR.is_working_day(date(2024, 4, 26))
    assert DEFAULT_CALENDAR.is_working_day(date(2025, 5, 16))


def test_grundlovsdag_and_christmas_and_new_years_eve_are_working_days_by_default() -> None:
    assert DEFAULT_CALENDAR.extra_closed_days == frozenset()
    assert DEFAULT_CALENDAR.is_working_day(date(2025, 6, 5))
    assert DEFAULT_CALENDAR.is_working_day(date(2025, 12, 24))
    assert DEFAULT_CALENDAR.is_working_day(date(2025, 12, 31))


def test_first_of_may_is_a_working_day() -> None:
    # The library files Arbejdernes kampdag as "optional"; it is not a public holiday.
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 5, 1))


def test_configured_closed_days_are_not_working_days() -> None:
    assert not ALL_CLOSED.is_working_day(date(2025, 6, 5))
    assert not ALL_CLOSED.is_working_day(date(2025, 12, 24))
    assert not ALL_CLOSED.is_working_day(date(2025, 12, 31))
    # Closing them does not close anything else.
    assert ALL_CLOSED.is_working_day(date(2025, 6, 4))
    assert ALL_CLOSED.is_working_day(date(2025, 12, 23))


def test_is_working_day_rejects_a_datetime() -> None:
    with pytest.raises(TypeError):
        DEFAULT_CALENDAR.is_working_day(datetime(2026, 1, 12, 10, 0, tzinfo=UTC))


# --- configuration ---------------------------------------------------------------------------


def test_unknown_closed_day_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="juleaftensdag"):
        WorkingDayCalendar(frozenset({"juleaften", "juleaftensdag"}))


def test_bare_string_as_closed_days_is_rejected() -> None:
    with pytest.raises(TypeError):
        WorkingDayCalendar("juleaften")  # type: ignore[arg-type]


def test_closed_days_given_as_a_set_are_normalised_to_a_frozenset() -> None:
    cal = WorkingDayCalendar({"juleaften"})  # type: ignore[arg-type]
    assert cal.extra_closed_days == frozenset({"juleaften"})
    assert isinstance(cal.extra_closed_days, frozenset)
    assert hash(cal) == hash(WorkingDayCalendar(frozenset({"juleaften"})))


# --- add_working_days ------------------------------------------------------------------------


def test_friday_plus_one_working_day_is_monday() -> None:
    assert DEFAULT_CALENDAR.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 12)


def test_counting_from_a_saturday_starts_on_monday() -> None:
    assert DEFAULT_CALENDAR.add_working_days(date(2026, 1, 10), 1) == date(2026, 1, 12)


def test_five_working_days_from_friday_is_next_friday() -> None:
    assert DEFAULT_CALENDAR.add_working_days(date(2026, 1, 9), 5) == date(2026, 1, 16)


def test_counting_from_a_holiday_starts_on_the_next_working_day() -> None:
    # Langfredag 2026 -> Sat, Sun, 2. påskedag, then Tuesday 7 April.
    assert DEFAULT_CALENDAR.add_working_days(date(2026, 4, 3), 1) == date(2026, 4, 7)


@pytest.mark.parametrize("n", [0, -1])
def test_add_working_days_requires_at_least_one_day(n: int) -> None:
    with pytest.raises(ValueError):
        DEFAULT_CALENDAR.add_working_days(date(2026, 1, 9), n)


# --- deadline_after --------------------------------------------------------------------------


def test_deadline_is_an_aware_utc_datetime() -> None:
    due = DEFAULT_CALENDAR.deadline_after(cph(2026, 1, 9), 1)
    assert due.tzinfo is UTC


def test_friday_discharge_with_one_working_day_is_due_at_end_of_monday() -> None:
    # End of Monday 12 Jan = Tue 13 Jan 00:00 CET = 12 Jan 23:00 UTC.
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 1, 9), 1) == utc(2026, 1, 12, 23)


def test_friday_before_easter_discharge_is_due_after_easter_monday() -> None:
    # Langfredag 3 April 2026: Sat, Sun, Mon 6 (2. påskedag) skipped -> end of Tue 7 April (CEST).
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 4, 3), 1) == utc(2026, 4, 7, 22)


def test_wednesday_before_easter_2026_with_two_working_days_is_due_end_of_wednesday_after() -> None:
    # Wed 1 April: Thu 2, Fri 3, Mon 6 closed -> Tue 7 (1), Wed 8 (2).
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 4, 1), 2) == utc(2026, 4, 8, 22)


def test_friday_before_easter_2025_discharge_is_due_end_of_tuesday_after_easter() -> None:
    # Langfredag 18 April 2025; 2. påskedag 21 April -> end of Tue 22 April (CEST).
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 4, 18), 1) == utc(2025, 4, 22, 22)


def test_thursday_before_easter_2025_with_three_working_days_skips_all_easter_holidays() -> None:
    # Thu 17 (Skærtorsdag) itself: Fri 18, Mon 21 closed -> Tue 22, Wed 23, Thu 24.
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 4, 17), 3) == utc(2025, 4, 24, 22)


def test_discharge_before_whitsun_skips_second_pentecost_day() -> None:
    # Fri 22 May 2026 -> Mon 25 May (2. pinsedag) closed -> end of Tue 26 May.
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 5, 22), 1) == utc(2026, 5, 26, 22)


def test_discharge_before_ascension_day_skips_it() -> None:
    # Wed 13 May 2026 -> Thu 14 May (Kristi himmelfartsdag) closed -> end of Fri 15 May.
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 5, 13), 1) == utc(2026, 5, 15, 22)


def test_discharge_the_day_before_store_bededag_2023_is_due_monday() -> None:
    assert DEFAULT_CALENDAR.deadline_after(cph(2023, 5, 4), 1) == utc(2023, 5, 8, 22)


def test_discharge_the_day_before_former_store_bededag_2024_is_due_friday() -> None:
    assert DEFAULT_CALENDAR.deadline_after(cph(2024, 4, 25), 1) == utc(2024, 4, 26, 22)


def test_discharge_the_day_before_former_store_bededag_2025_is_due_friday() -> None:
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 5, 15), 1) == utc(2025, 5, 16, 22)


def test_christmas_eve_counts_as_a_working_day_by_default() -> None:
    # Tue 23 Dec 2025: Wed 24 (1), Thu 25 + Fri 26 + weekend closed, Mon 29 (2).
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 12, 23), 2) == utc(2025, 12, 29, 23)


def test_christmas_eve_is_skipped_when_configured_closed() -> None:
    cal = WorkingDayCalendar(frozenset({"juleaften"}))
    # Mon 29 (1), Tue 30 (2).
    assert cal.deadline_after(cph(2025, 12, 23), 2) == utc(2025, 12, 30, 23)


def test_new_years_eve_counts_as_a_working_day_by_default() -> None:
    # Tue 30 Dec 2025: Wed 31 (1), Thu 1 Jan closed, Fri 2 Jan (2).
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 12, 30), 2) == utc(2026, 1, 2, 23)


def test_new_years_eve_is_skipped_when_configured_closed() -> None:
    cal = WorkingDayCalendar(frozenset({"nytaarsaften"}))
    # Fri 2 Jan (1), Mon 5 Jan (2).
    assert cal.deadline_after(cph(2025, 12, 30), 2) == utc(2026, 1, 5, 23)


def test_christmas_to_new_year_with_both_eves_closed() -> None:
    # Tue 23 Dec 2025, 4 days: Mon 29 (1), Tue 30 (2), Fri 2 Jan (3), Mon 5 Jan (4).
    assert ALL_CLOSED.deadline_after(cph(2025, 12, 23), 4) == utc(2026, 1, 5, 23)
    # Default: Wed 24 (1), Mon 29 (2), Tue 30 (3), Wed 31 (4).
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 12, 23), 4) == utc(2025, 12, 31, 23)


def test_grundlovsdag_counts_as_a_working_day_by_default() -> None:
    # Wed 4 June 2025: Thu 5 (1), Fri 6 (2).
    assert DEFAULT_CALENDAR.deadline_after(cph(2025, 6, 4), 2) == utc(2025, 6, 6, 22)


def test_grundlovsdag_is_skipped_when_configured_closed() -> None:
    cal = WorkingDayCalendar(frozenset({"grundlovsdag"}))
    # Thu 5 closed, Fri 6 (1), Mon 9 is 2. pinsedag, Tue 10 (2).
    assert cal.deadline_after(cph(2025, 6, 4), 2) == utc(2025, 6, 10, 22)


def test_discharge_at_2330_local_counts_from_that_local_day() -> None:
    # Thu 15 Jan 2026 23:30 CET is 22:30 UTC, still Thursday -> due end of Friday 16 Jan.
    moment = cph(2026, 1, 15, 23, 30)
    assert moment.astimezone(UTC) == utc(2026, 1, 15, 22, 30)
    assert DEFAULT_CALENDAR.deadline_after(moment, 1) == utc(2026, 1, 16, 23)


def test_discharge_at_2330_local_on_good_friday_counts_from_good_friday() -> None:
    moment = cph(2026, 4, 3, 23, 30)
    assert DEFAULT_CALENDAR.deadline_after(moment, 1) == utc(2026, 4, 7, 22)


def test_utc_evening_that_is_already_next_day_in_copenhagen_counts_from_the_next_day() -> None:
    # 23:30 UTC Thursday = 00:30 CET Friday -> counts from Friday -> due end of Monday 19 Jan.
    assert DEFAULT_CALENDAR.deadline_after(utc(2026, 1, 15, 23, 30), 1) == utc(2026, 1, 19, 23)
    # Half an hour earlier it is still Thursday in Copenhagen -> due end of Friday 16 Jan.
    assert DEFAULT_CALENDAR.deadline_after(utc(2026, 1, 15, 22, 59), 1) == utc(2026, 1, 16, 23)


def test_utc_friday_2330_is_saturday_in_copenhagen() -> None:
    # Fri 9 Jan 2026 23:30 UTC = Sat 10 Jan 00:30 CET; counting from Saturday gives Mon 12.
    assert DEFAULT_CALENDAR.deadline_after(utc(2026, 1, 9, 23, 30), 1) == utc(2026, 1, 12, 23)


def test_moment_in_another_timezone_is_converted_to_copenhagen_first() -> None:
    # 18:30 in New York (UTC-5) on Thu 15 Jan = 00:30 CET Friday.
    new_york = timezone(timedelta(hours=-5))
    moment = datetime(2026, 1, 15, 18, 30, tzinfo=new_york)
    assert DEFAULT_CALENDAR.deadline_after(moment, 1) == utc(2026, 1, 19, 23)


def test_deadline_across_spring_dst_change_ends_at_cest_midnight() -> None:
    # Fri 27 Mar 2026 10:00 CET; Mon 30 (1), Tue 31 (2); Wed 1 Apr 00:00 CEST = 31 Mar 22:00 UTC.
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 3, 27), 2) == utc(2026, 3, 31, 22)


def test_deadline_across_autumn_dst_change_ends_at_cet_midnight() -> None:
    # Fri 23 Oct 2026 10:00 CEST; Mon 26 (1), Tue 27 (2); Wed 28 00:00 CET = 27 Oct 23:00 UTC.
    assert DEFAULT_CALENDAR.deadline_after(cph(2026, 10, 23), 2) == utc(2026, 10, 27, 23)


def test_deadline_ends_exactly_at_copenhagen_midnight() -> None:
    due = DEFAULT_CALENDAR.deadline_after(cph(2026, 3, 27), 2).astimezone(COPENHAGEN)
    assert (due.date(), due.hour, due.minute) == (date(2026, 4, 1), 0, 0)


def test_naive_datetime_is_rejected_by_deadline_after() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.deadline_after(datetime(2026, 1, 9, 10, 0), 1)


def test_deadline_after_requires_at_least_one_working_day() -> None:
    with pytest.raises(ValueError):
        DEFAULT_CALENDAR.deadline_after(cph(2026, 1, 9), 0)


def test_many_deadlines_reuse_the_cached_holiday_sets() -> None:
    cal = WorkingDayCalendar(frozenset({"juleaften"}))
    cal.deadline_after(cph(2026, 1, 5), 1)  # warm the cache for 2026
    before = _closed_dates.cache_info()
    for offset in range(300):
        cal.deadline_after(cph(2026, 1, 5) + timedelta(days=offset), 3)
    after = _closed_dates.cache_info()
    # Only 2027 can be new (late-December starts spill into it); everything else is a hit.
    assert after.misses - before.misses <= 1
    assert after.hits > before.hits


# --- deadline_in_hours -----------------------------------------------------------------------


def test_72_hour_contact_across_spring_dst_is_exactly_72_elapsed_hours() -> None:
    start = cph(2026, 3, 27, 10)  # 09:00 UTC
    due = deadline_in_hours(start, 72)
    assert due == utc(2026, 3, 30, 9)
    assert due.tzinfo is UTC
    assert due - start == timedelta(hours=72)
    # On the wall clock it looks like 73 hours, because an hour vanished on 29 March.
    assert due.astimezone(COPENHAGEN).hour == 11


def test_72_hour_contact_across_autumn_dst_is_exactly_72_elapsed_hours() -> None:
    start = cph(2026, 10, 23, 10)  # 08:00 UTC
    due = deadline_in_hours(start, 72)
    assert due == utc(2026, 10, 26, 8)
    assert due - start == timedelta(hours=72)
    # On the wall clock it looks like 71 hours, because 02:00-03:00 repeated on 25 October.
    assert due.astimezone(COPENHAGEN).hour == 9


def test_72_hour_contact_ignores_weekends_and_holidays() -> None:
    # Good Friday 2026 10:00 CEST -> Monday 6 April (2. påskedag) 10:00 CEST.
    assert deadline_in_hours(cph(2026, 4, 3), 72) == utc(2026, 4, 6, 8)


def test_naive_datetime_is_rejected_by_deadline_in_hours() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_in_hours(datetime(2026, 3, 27, 10, 0), 72)


def test_deadline_in_hours_requires_a_positive_number_of_hours() -> None:
    with pytest.raises(ValueError):
        deadline_in_hours(cph(2026, 3, 27), 0)


# --- the day a deadline is shown as ---------------------------------------------------------


def test_a_working_day_deadline_is_shown_as_the_day_it_ends_not_the_midnight_after() -> None:
    due = DEFAULT_CALENDAR.deadline_after(cph(2026, 11, 19, 14), 1)  # a Thursday discharge
    assert due == cph(2026, 11, 21, 0)  # stored as the instant it passes (a Saturday)
    assert deadline_day(due) == date(2026, 11, 20)
    assert deadline_text(due) == "fredag 20.11.2026"
    assert deadline_text(due, "en", with_year=False) == "Friday 20.11."


def test_a_deadline_in_hours_keeps_its_day_and_time() -> None:
    due = deadline_in_hours(cph(2026, 3, 27, 23, 30), 72)  # across the DST switch
    assert deadline_day(due) == date(2026, 3, 31)
    assert deadline_text(due) == "tirsdag 31.03.2026 kl. 00.30"


def test_deadline_day_wants_an_aware_instant() -> None:
    with pytest.raises(ValueError):
        deadline_day(datetime(2026, 11, 21))
