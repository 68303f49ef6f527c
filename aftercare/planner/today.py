"""What a patient reads first at a given moment: the few points that matter now.

Pure, like the rest of the planner: a `Plan` and an explicit, aware `moment` in, plan
parts out, no clock and no Django. The Today page and every reminder email use it, so
the page and the email of one day lead with the same points.

The rule (`today_items`). Of the items that apply at `moment`, warning signs aside
(they have their own card on every page and section in every email), and leaving out
an "avoid" item that only says again what a restriction says (`restates`), items come

1. what started today (the clinic's local day) first;
2. then by kind: "do" and "avoid", then "expect", then "product";
3. then the freshest first (the latest start);
4. then the one that ends soonest first, open-ended ones last: a tip for tonight is
   more about today than a habit for good;
5. then in the plan's own order.

`today_points` keeps the first `limit` of them (five on the page, three in an email);
the rest stay one tap away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.planner.planning import Plan, PlannedItem, PlannedRestriction

POINTS_ON_A_PAGE = 5
POINTS_IN_AN_EMAIL = 3
# Kinds in the order they are read first; warnings are not points (see the docstring).
KIND_PRIORITY = {"do": 0, "avoid": 0, "expect": 1, "product": 2}
# A restriction that ended this recently still shows on Today, as "OK again now".
RECENTLY_ALLOWED = timedelta(hours=48)
# A wait that ends within this many local days is listed first; longer ones fold away.
SOON_DAYS = 7
# Far later than any plan: open-ended items sort after every dated one.
_OPEN_ENDED = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RestrictionState:
    """A restriction as Today shows it: still to wait for, or allowed again."""

    restriction: PlannedRestriction
    allowed: bool
    days_away: int  # local calendar days from the moment to its end (negative: ended)

    @property
    def when(self) -> str:
        """When the wait ends, in words: "today", "tomorrow", "in 3 days"."""
        return relative_days(self.days_away)


@dataclass(frozen=True)
class WaitList:
    """The restrictions as Today lists them, each part sorted by the end of the wait."""

    # Allowed again within the last RECENTLY_ALLOWED (shown as "OK again now"), and
    # those that end within SOON_DAYS local days: the list a patient reads first.
    soon: tuple[RestrictionState, ...]
    later: tuple[RestrictionState, ...]  # still longer to wait: one tap away
    earlier: tuple[RestrictionState, ...]  # allowed again for a while: one tap away


def today_points(
    plan: Plan, moment: datetime, limit: int = POINTS_ON_A_PAGE
) -> tuple[PlannedItem, ...]:
    """The first `limit` of `today_items`: what a patient should read first."""
    return today_items(plan, moment)[: max(limit, 0)]


def today_items(plan: Plan, moment: datetime) -> tuple[PlannedItem, ...]:
    """Every item that applies at `moment`, most important first (the module's rule)."""
    active_restrictions = plan.restrictions_active_at(moment)
    candidates = [
        item
        for item in plan.items_active_at(moment)
        if item.kind in KIND_PRIORITY
        and not any(restates(item, restriction) for restriction in active_restrictions)
    ]
    order = {item.key: index for index, item in enumerate(plan.items)}
    today = _local(plan, moment).date()

    def priority(item: PlannedItem) -> tuple[int, int, float, datetime, int]:
        started_today = _local(plan, item.starts_at).date() == today
        ends = _OPEN_ENDED if item.ends_at is None else item.ends_at.astimezone(UTC)
        return (
            0 if started_today else 1,
            KIND_PRIORITY[item.kind],
            -item.starts_at.timestamp(),
            ends,
            order[item.key],
        )

    return tuple(sorted(candidates, key=priority))


def restates(item: PlannedItem, restriction: PlannedRestriction) -> bool:
    """Whether an "avoid" item says what the restriction says, in other words.

    It does when its title is the restriction's label, or when every fact it rests on
    is one of the restriction's facts: then the restriction, with its end time, is the
    one place for it.
    """
    if item.kind != "avoid":
        return False
    if _words(item.title) == _words(restriction.label):
        return True
    return bool(item.fact_ids) and set(item.fact_ids) <= set(restriction.fact_ids)


def wait_list(
    plan: Plan,
    moment: datetime,
    recently: timedelta = RECENTLY_ALLOWED,
    soon_days: int = SOON_DAYS,
) -> WaitList:
    """Every restriction of the plan, sorted by its end, in three parts (see `WaitList`)."""
    at = moment.astimezone(UTC)
    states = _states(plan, moment, list(plan.restrictions))
    earlier = tuple(s for s in states if s.restriction.ends_at.astimezone(UTC) <= at - recently)
    shown = [s for s in states if s not in earlier]
    soon = [s for s in shown if s.days_away <= soon_days]
    later = [s for s in shown if s.days_away > soon_days]
    if later and not any(not s.allowed for s in soon):
        soon.append(later.pop(0))  # the next wait to end is always in the first list
    return WaitList(soon=tuple(soon), later=tuple(later), earlier=earlier)


def days_between(plan: Plan, moment: datetime, later: datetime) -> int:
    """Local calendar days (the clinic's zone) from `moment` to `later`."""
    return (_local(plan, later).date() - _local(plan, moment).date()).days


def relative_days(days: int) -> str:
    """A day counted from today, in words: "today", "tomorrow", "in 3 days", "2 days ago"."""
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if days > 1:
        return f"in {days} days"
    return f"{-days} days ago"


def day_label(number: int) -> str:
    """What a patient calls a day of their plan: "Treatment day", then "Day 1", "Day 2"."""
    return "Treatment day" if number == 0 else f"Day {number}"


def _states(
    plan: Plan, moment: datetime, restrictions: list[PlannedRestriction]
) -> tuple[RestrictionState, ...]:
    at = moment.astimezone(UTC)
    ordered = sorted(restrictions, key=lambda r: (r.ends_at.astimezone(UTC), r.label))
    return tuple(
        RestrictionState(
            restriction=restriction,
            allowed=restriction.ends_at.astimezone(UTC) <= at,
            days_away=days_between(plan, moment, restriction.ends_at),
        )
        for restriction in ordered
    )


def _local(plan: Plan, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(ZoneInfo(plan.timezone))


def _words(text: str) -> tuple[str, ...]:
    return tuple("".join(c if c.isalnum() else " " for c in text.lower()).split())
