"""Course numbering and the next session's window: pure, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aftercare.planner.courses import (
    CourseFacts,
    course_step,
    latest_step,
    visit_day,
    window_opens_within,
)
from aftercare.planner.planning import CourseStep

COURSE = CourseFacts(
    starts_on=date(2026, 3, 1), sessions=4, min_interval_days=28, max_interval_days=42
)


def test_the_first_visit_is_session_1_with_the_window_weeks_later():
    step = course_step(COURSE, [], date(2026, 3, 1))
    assert step == CourseStep(
        session=1,
        sessions=4,
        next_window_opens=date(2026, 3, 29),
        next_window_closes=date(2026, 4, 12),
    )


def test_sessions_count_distinct_visit_days_from_the_start():
    days = [date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 30), date(2026, 3, 30)]
    assert course_step(COURSE, days, date(2026, 3, 30)).session == 2


def test_a_visit_before_the_course_is_not_a_session():
    assert course_step(COURSE, [], date(2026, 2, 27)) is None


def test_the_last_session_has_no_next_window():
    days = [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    assert course_step(COURSE, days, date(2026, 6, 1)) == CourseStep(session=4, sessions=4)


def test_a_visit_after_the_course_is_complete_is_not_a_session():
    days = [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    assert course_step(COURSE, days, date(2026, 7, 1)) is None


def test_the_latest_step_is_the_most_recent_session():
    days = [date(2026, 3, 1), date(2026, 4, 1)]
    assert latest_step(COURSE, days).session == 2
    assert latest_step(COURSE, []) is None


# Daylight saving: London moved to BST at 01:00 UTC on 29 March 2026 and back on 25 October.


def test_a_treatment_just_after_midnight_bst_counts_on_its_local_day():
    # 23:30 UTC on 29 March is 00:30 BST on 30 March: a new session, not the UTC day.
    performed_at = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    assert visit_day(performed_at, "Europe/London") == date(2026, 3, 30)
    earlier = visit_day(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "Europe/London")
    step = course_step(COURSE, [earlier], visit_day(performed_at, "Europe/London"))
    assert step.session == 2


def test_two_treatments_either_side_of_the_autumn_change_on_one_local_day_are_one_session():
    # 00:30 BST and 23:30 GMT on 25 October 2026: one local day of 25 hours.
    first = visit_day(datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "Europe/London")
    second = visit_day(datetime(2026, 10, 25, 23, 29, tzinfo=UTC), "Europe/London")
    assert first == second == date(2026, 10, 25)
    course = CourseFacts(date(2026, 10, 1), 3, 28, 42)
    assert course_step(course, [first, second], second).session == 1


def test_the_window_is_whole_local_days_whatever_the_clocks_do():
    # Session on 20 March (GMT); the window opens on 17 April (BST), same calendar day
    # of the week: four weeks of days, not of 24-hour periods.
    step = course_step(COURSE, [date(2026, 3, 1)], date(2026, 3, 20))
    assert (step.next_window_opens, step.next_window_closes) == (
        date(2026, 4, 17),
        date(2026, 5, 1),
    )


def test_the_coming_week_includes_both_ends_across_the_spring_change():
    step = CourseStep(1, 4, date(2026, 4, 2), date(2026, 4, 16))
    assert window_opens_within(step, today=date(2026, 3, 26), days=7)
    assert not window_opens_within(step, today=date(2026, 3, 25), days=7)
    assert window_opens_within(step, today=date(2026, 4, 2), days=7)
    assert not window_opens_within(step, today=date(2026, 4, 3), days=7)


def test_a_step_without_a_next_window_never_opens():
    assert not window_opens_within(CourseStep(4, 4), today=date(2026, 1, 1), days=7)
    assert not window_opens_within(None, today=date(2026, 1, 1), days=7)


def test_sydney_sessions_use_sydney_days():
    # 14:30 UTC on 4 April 2026 is 00:30 on 5 April in Sydney (AEDT ends that morning).
    assert visit_day(datetime(2026, 4, 4, 14, 30, tzinfo=UTC), "Australia/Sydney") == date(
        2026, 4, 5
    )
