"""No contradictions in the shipped guidance (issue #17); no database.

Two kinds of contradiction, checked on plans that `build_plan` makes from `DEFAULT_GUIDANCE`,
through the `Plan`'s public API only, so the checks follow the planner when it gains fields
(restrictions that depend on the area, durations that grow with the score, items that start
when a restriction ends):

* **What a restriction forbids.** While a restriction runs, nothing else the patient reads
  may recommend or allow the thing it forbids; an `avoid` item, or another restriction,
  that repeats it must end when it ends, so there are never two messages about one thing
  with different end times.
* **Day labels.** A text that says which day it is about ("Day 1: the peak", "on the second
  day", "for the first three days", "week 2") is only shown on the days it names, counted
  the way the patient sees them: day 0 is the treatment day, day 1 the next calendar day in
  the clinic's zone (`Plan.day_number_at`).

Both run over a few named treatments (`EXAMPLES`) and, as properties, over random ones
(`tests.aftercare.planner.strategies`). They are meant to fail on content that is wrong;
each failure names the entry, the restriction or label, the day and the sentence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from aftercare.planner.default_guidance import DEFAULT_GUIDANCE
from aftercare.planner.inputs import AREAS, ClinicFacts, Guidance, GuidanceItem, TreatmentFacts
from aftercare.planner.planning import Plan, PlannedRestriction, build_plan
from tests.aftercare.planner.strategies import cases, located

# ---------------------------------------------------------------------------
# What each restriction forbids
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Regular expressions (case-insensitive) that name what a restriction forbids.

    `names` must name the forbidden thing precisely, not a neighbour the guidance
    recommends. `unless` lists look-alikes that are blanked out of a text before `names`
    are searched: "hyaluronic acid" is not one of the acids on hold, "fragrance-free" is not a
    fragrance, "laser hair removal" is hair removal rather than another laser treatment.
    """

    names: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def mentions(self, text: str) -> list[str]:
        for pattern in self.unless:
            text = re.sub(pattern, lambda m: " " * len(m.group()), text, flags=re.IGNORECASE)
        return [
            match.group()
            for pattern in self.names
            for match in re.finditer(pattern, text, flags=re.IGNORECASE)
        ]


VOCABULARY: dict[str, Vocabulary] = {
    "makeup": Vocabulary(
        names=(
            r"\bmake-?up\b",
            r"\bfoundation\b",
            r"\bconcealers?\b",
            r"\bmascara\b",
            r"\beyeliner\b",
            r"\blipsticks?\b",
            r"\b(?:BB|CC) creams?\b",
            r"\btinted moisturi[sz]ers?\b",
        ),
        # Cleaning the brushes is what to do before makeup, not makeup.
        unless=(r"\bmake-?up (?:brush|sponge|remover)\w*",),
    ),
    "exercise": Vocabulary(
        names=(
            r"\bworkouts?\b",
            r"\bgym\b",
            r"\b(?:heavy|hard|intense|strenuous|vigorous|high-intensity) "
            r"(?:exercise|training|workouts?|sports?)\b",
            r"\bsweat\w*",
            r"\bHIIT\b",
            r"\bjogging\b",
            r"\blifting weights\b",
        ),
    ),
    "sun": Vocabulary(
        # Not "sunscreen", "sunburn" (a comparison for how the skin feels) or "out in the
        # sun" with a hat: the restriction is about sunbathing and direct sun.
        names=(
            r"\bsun ?bath\w*",
            r"\bsun ?beds?\b",
            r"\btanning\b",
            r"\b(?:get|getting|build|building) a tan\b",
            r"\bsun ?lamps?\b",
            r"\bsolarium\w*",
            r"\bdirect (?:sun|sunlight)\b",
            r"\bsun exposure\b",
        ),
        unless=(r"\bself-tann\w*", r"\bfake tan\w*"),
    ),
    "actives": Vocabulary(
        names=(
            r"\bretin(?:ol|oids?|al|oic acid)\b",
            r"\btretinoin\b",
            r"\badapalene\b",
            r"\b[ABP]HAs?\b",
            r"\b(?:alpha|beta|poly)[- ]hydroxy\w*",
            r"\bglycolic\b",
            r"\bsalicylic\b",
            r"\blactic acid\b",
            r"\bmandelic\b",
            r"\bacids?\b",
            r"\bexfoliat\w*",
            r"\bscrubs?\b",
            r"\bbenzoyl peroxide\b",
        ),
        # Acids the guidance recommends or that are not skincare actives; ascorbic acid is
        # vitamin C, which has a restriction of its own.
        unless=(
            r"\bhyaluronic acid\b",
            r"\bfatty acids?\b",
            r"\bamino acids?\b",
            r"\bfolic acid\b",
            r"\b(?:L-)?ascorbic acid\b",
        ),
    ),
    "vitamin_c": Vocabulary(
        # Vitamin C in food is encouraged throughout; only vitamin C on the skin is on hold.
        names=(
            r"\bvitamin C (?:serums?|creams?|products?|drops?|boosters?|oils?)\b",
            r"\b(?:topical|serums? with) vitamin C\b",
            r"\b(?:L-)?ascorbic acid\b",
        ),
    ),
    "fragrance_alcohol": Vocabulary(
        names=(
            r"\bfragran\w*",
            r"\bperfume\w*",
            r"\bscented\b",
            r"\bessential oils?\b",
            r"\bdye[sd]\b",
            r"\balcohol\w*",
        ),
        # Free-of labels are what the restriction recommends; hair dye and drinks are other
        # things; fatty alcohols are gentle moisturising ingredients.
        unless=(
            r"\b(?:fragrance|perfume|alcohol|dye)[- ]free\b",
            r"\bhair dyes?\b",
            r"\b(?:drink|drinks|drinking) alcohol\b",
            r"\balcoholic drinks?\b",
            r"\b(?:cetyl|cetearyl|stearyl|fatty) alcohols?\b",
        ),
    ),
    "anti_inflammatories": Vocabulary(
        names=(
            r"\bibuprofen\b",
            r"\bnaproxen\b",
            r"\baspirin\b",
            r"\bdiclofenac\b",
            r"\bNSAIDs?\b",
            r"\banti-?inflammatories\b",
            r"\banti-?inflammatory (?:painkillers?|tablets?|pills?|medicines?|drugs?)\b",
        ),
        # The restriction itself says to keep taking a prescribed daily low-dose aspirin.
        unless=(r"\blow-dose aspirin\b",),
    ),
    "ice_arnica_bromelain": Vocabulary(
        names=(r"\bice\b", r"\bice packs?\b", r"\bicing\b", r"\barnica\b", r"\bbromelain\b"),
        unless=(r"\bice cream\b",),
    ),
    "hot_water_steam": Vocabulary(
        names=(
            r"\bhot (?:showers?|baths?|water)\b",
            r"\bsteam\w*",
            r"\bsaunas?\b",
            r"\bhot yoga\b",
            r"\bbikram\b",
            r"\bhammams?\b",
        ),
    ),
    "swimming": Vocabulary(
        names=(
            r"\bswim\w*",
            r"\bpools?\b",
            r"\bhot tubs?\b",
            r"\bjacuzzis?\b",
            r"\bsea\b",
            r"\bocean\b",
            r"\blakes?\b",
            r"\brivers?\b",
            r"\bchlorin\w*",
        ),
        unless=(r"\bsea salt\b",),
    ),
    "hair_removal": Vocabulary(
        # Shaving is allowed once the skin has settled, so it is not listed.
        names=(
            r"\bwax\w*",
            r"\bthreading\b",
            r"\bdepilat\w*",
            r"\bepilat\w*",
            r"\bhair removal\b",
            r"\bsugaring\b",
            r"\btweez\w*",
            r"\bplucking\b",
        ),
    ),
    "other_treatments": Vocabulary(
        # "peel" only as a treatment: a noun after an article, or a chemical peel; the skin
        # peeling or flaking is normal healing. A laser used for hair removal belongs to
        # `hair_removal`.
        names=(
            r"\bchemical peels?\b",
            r"\b(?:a|an|any|another|your next) (?:\w+ )?peel\b",
            r"(?<!skin )(?<!it )(?<!they )\bpeels\b(?! off| away)",
            r"\blasers?\b",
            r"\bfacials\b",
            r"\b(?:a|an|any|another|or) facial\b(?! skin| area| hair| redness| swelling)",
            r"\bmicrodermabrasion\b",
            r"\bdermaplan\w*",
            r"\bIPL\b",
            r"\binjectables?\b",
            r"\bfillers?\b",
        ),
        unless=(r"\blaser hair removal\b",),
    ),
}

# A sentence that names a forbidden thing is taken to hold it back, not allow it, when it
# also says one of these. A heuristic: it reads the sentence, not its meaning, so it errs
# towards passing ("after your sweat session is fine" passes on "after"). Beyond the
# obvious negations and deferrals it accepts future conditions ("when you start again, go
# for mineral makeup") and warnings of harm ("old makeup on them holds germs").
HELD_BACK = re.compile(
    r"\b(?:not|no|never|none|nothing|avoid\w*|skip\w*|wait\w*|until|till|leave|leaving|after"
    r"|once|hold off|on hold|without|instead|rather than|stop\w*|before|away from|out of"
    r"|keep (?:it |them )?off|when you (?:start|go back|return|can)"
    r"|germs|irritat\w*|sting\w*|hurt\w*|harm\w*|damag\w*|harsh|too strong)\b"
    r"|n['’]t\b",
    re.IGNORECASE,
)
# Sentences, and the clauses a semicolon, colon or dash sets apart.
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\s+[—–]\s+|\n+")
MARKDOWN = re.compile(r"[*_`#>]")


def plain(text: str) -> str:
    return MARKDOWN.sub("", text)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(plain(text)) if part.strip()]


@functools.cache
def allowing_mentions(text: str) -> tuple[tuple[str, str], ...]:
    """(restriction key, sentence) for each sentence of `text` that names a restriction's
    forbidden thing without holding it back."""
    return tuple(
        (key, sentence)
        for sentence in sentences(text)
        if not HELD_BACK.search(sentence)
        for key, vocabulary in VOCABULARY.items()
        if vocabulary.mentions(sentence)
    )


@functools.cache
def named_restrictions(text: str) -> frozenset[str]:
    """Keys of the restrictions whose forbidden thing `text` names, however it names it."""
    return frozenset(key for key, vocabulary in VOCABULARY.items() if vocabulary.mentions(text))


# ---------------------------------------------------------------------------
# Day labels
# ---------------------------------------------------------------------------

NUMBERS = {
    word: number
    for number, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
        ]
    )
}
ORDINALS = {
    word: number
    for number, word in enumerate(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
        ],
        start=1,
    )
}
NUM = r"(\d+|" + "|".join(NUMBERS) + ")"
ORD = r"(\d+(?:st|nd|rd|th)|" + "|".join(ORDINALS) + ")"
# "day N" is the day number the patient sees (day 0 is the treatment day). Ordinals count
# the treatment day as the first: "the second day" is day 1, "the first three days" days
# 0-2, "week 2" or "the second week" days 7-13.
LABEL_PATTERNS = (
    (
        "range",
        re.compile(
            rf"\bdays?\s+{NUM}\s*(?:to|-|–|and|or|through)\s*(?:day\s+)?{NUM}\b", re.IGNORECASE
        ),
    ),
    ("day", re.compile(rf"\bday\s+{NUM}\b", re.IGNORECASE)),
    ("ordinal day", re.compile(rf"\b(?:the\s+)?{ORD}\s+day\b", re.IGNORECASE)),
    ("first days", re.compile(rf"\b(?:the\s+)?first\s+{NUM}\s+days\b", re.IGNORECASE)),
    ("week", re.compile(rf"\bweek\s+{NUM}\b", re.IGNORECASE)),
    ("ordinal week", re.compile(rf"\b(?:the\s+)?{ORD}\s+week\b", re.IGNORECASE)),
    ("first weeks", re.compile(rf"\b(?:the\s+)?first\s+{NUM}\s+weeks\b", re.IGNORECASE)),
)
# A day phrase is a label (says which day the text is about) when a heading starts with it
# ("Day 1: the peak"), a sentence opens with it followed by a colon, it follows one of
# these words ("on day 2", "during the second week", "for the first three days"), or it is
# a period "from day N to day M". "about day 4" allows a day either side.
LABEL_BEFORE = re.compile(
    r"\b(?:on|during|for|in|over|throughout|across|from)\s+(?:about\s+|around\s+)?$",
    re.IGNORECASE,
)
# After these words a day phrase marks when something starts or stops ("from day 3 you
# can", "by the third day", "gets worse after day 2"). A text with such a step lays out a
# schedule over several days ("On the first day, stay out of the sun. From the second day,
# use sunscreen"), so none of its day phrases labels it, except in a heading.
STEP_BEFORE = re.compile(
    r"\b(?:from|after|until|till|by|before|since)\s+(?:about\s+|around\s+)?$", re.IGNORECASE
)
ABOUT_BEFORE = re.compile(r"\b(?:about|around|roughly|approximately)\s+$", re.IGNORECASE)
# Day phrases anywhere else ("the first three days are behind you", "the first day is
# usually the peak") refer to a day without saying the text is about it: not checked.


@dataclass(frozen=True)
class DayLabel:
    phrase: str
    first: int
    last: int  # inclusive

    def fits(self, day: int) -> bool:
        return self.first <= day <= self.last

    def describe(self) -> str:
        days = f"day {self.first}" if self.first == self.last else f"days {self.first}-{self.last}"
        return f"'{self.phrase}' ({days})"


def _number(text: str) -> int:
    text = text.lower()
    if text in NUMBERS:
        return NUMBERS[text]
    if text in ORDINALS:
        return ORDINALS[text]
    return int(re.sub(r"\D", "", text))


def _days(kind: str, numbers: list[int]) -> tuple[int, int]:
    if kind == "range":
        return numbers[0], numbers[1]
    if kind == "day":
        return numbers[0], numbers[0]
    if kind == "ordinal day":
        return numbers[0] - 1, numbers[0] - 1
    if kind == "first days":
        return 0, numbers[0] - 1
    if kind in ("week", "ordinal week"):
        return 7 * (numbers[0] - 1), 7 * numbers[0] - 1
    return 0, 7 * numbers[0] - 1  # first weeks


def day_labels(text: str, *, heading: bool) -> list[DayLabel]:
    labels, steps = [], 0
    for sentence in sentences(text):
        taken: list[tuple[int, int]] = []
        for kind, pattern in LABEL_PATTERNS:
            for match in pattern.finditer(sentence):
                if any(start < match.end() and match.start() < end for start, end in taken):
                    continue
                taken.append(match.span())
                before = sentence[: match.start()]
                if STEP_BEFORE.search(before) and kind != "range":
                    steps += 1
                    continue
                opens = not before.strip()
                after = sentence[match.end() :]
                if not (
                    (opens and (heading or after.startswith(":"))) or LABEL_BEFORE.search(before)
                ):
                    continue
                first, last = _days(kind, [_number(group) for group in match.groups()])
                if ABOUT_BEFORE.search(before):
                    first, last = max(first - 1, 0), last + 1
                labels.append(DayLabel(match.group(), first, last))
    return labels if heading or not steps else []


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------

DAY = timedelta(days=1)
# How far the hourly sweep looks: past the longest restriction of an intense treatment.
SWEEP = 21 * DAY
# How far an open-ended entry counts as shown, for its day labels.
SHOWN_FOR = 120 * DAY


def plan_for(treatment: TreatmentFacts, clinic: ClinicFacts) -> Plan:
    return build_plan(treatment, clinic, DEFAULT_GUIDANCE)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def moments(plan: Plan) -> list[datetime]:
    """Every moment at which what is shown can change, and each hour of the first weeks.

    Items and restrictions are half-open intervals, so whatever is active together is
    active together at one of their boundaries; the hourly sweep is a second net in case a
    later planner starts restrictions part way through.
    """
    start = plan.performed_at
    boundaries = {start}
    for entry in (*plan.items, *plan.phases):
        boundaries.add(entry.starts_at)
        if entry.ends_at is not None:
            boundaries.add(entry.ends_at)
    boundaries.update(restriction.ends_at for restriction in plan.restrictions)
    boundaries.update(reminder.send_at for reminder in plan.reminders)
    hours = SWEEP // timedelta(hours=1)
    boundaries.update(_utc(start) + timedelta(hours=hour) for hour in range(hours))
    zone = ZoneInfo(plan.timezone)
    instants = sorted({_utc(moment) for moment in boundaries if _utc(moment) >= _utc(start)})
    return [instant.astimezone(zone) for instant in instants]


def when(plan: Plan, moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(plan.timezone))
    return f"day {plan.day_number_at(moment)} {local:%a %d %b %H:%M %Z}"


def treated(plan: Plan) -> str:
    return (
        f"treated {plan.performed_at:%Y-%m-%d %H:%M} {plan.timezone} ({plan.season}), "
        f"{plan.intensity.label} (score {plan.intensity.score})"
    )


def _restriction_text(restriction: PlannedRestriction) -> str:
    return f"{restriction.label}.\n{restriction.body_md}"


def _allowing_problems(
    plan: Plan, where: str, text: str, moment: datetime, found: dict[tuple[str, str], str]
) -> None:
    active = {restriction.key: restriction for restriction in plan.restrictions_active_at(moment)}
    for key, sentence in allowing_mentions(text):
        if key in active and (where, key) not in found:
            found[(where, key)] = (
                f"{where} allows what '{active[key].label}' ({key}, until "
                f"{when(plan, active[key].ends_at)}) forbids, at {when(plan, moment)}: "
                f"{sentence!r}"
            )


def items_allowing_what_a_restriction_forbids(plan: Plan) -> list[str]:
    found: dict[tuple[str, str], str] = {}
    for moment in moments(plan):
        for item in plan.items_active_at(moment):
            if item.kind in ("avoid", "warning"):
                continue
            text = f"{item.title}.\n{item.body_md}"
            _allowing_problems(plan, f"{item.kind} item {item.key}", text, moment, found)
    return list(found.values())


def phases_allowing_what_a_restriction_forbids(plan: Plan) -> list[str]:
    found: dict[tuple[str, str], str] = {}
    for moment in moments(plan):
        phase = plan.phase_at(moment)
        if phase is not None:
            text = f"{phase.name}.\n{phase.summary_md}"
            _allowing_problems(plan, f"phase {phase.key}", text, moment, found)
    return list(found.values())


def reminders_allowing_what_a_restriction_forbids(plan: Plan) -> list[str]:
    found: dict[tuple[str, str], str] = {}
    for reminder in plan.reminders:
        text = f"{reminder.label}.\n{reminder.summary_md}"
        _allowing_problems(plan, f"reminder {reminder.key}", text, reminder.send_at, found)
    return list(found.values())


def avoid_items_ending_apart_from_their_restriction(plan: Plan) -> list[str]:
    restrictions = {restriction.key: restriction for restriction in plan.restrictions}
    problems = []
    for item in plan.items:
        if item.kind != "avoid":
            continue
        for key in sorted(named_restrictions(f"{item.title}.\n{item.body_md}")):
            restriction = restrictions.get(key)
            if restriction is None:
                continue  # the restriction does not apply to this treatment
            if item.ends_at is None or _utc(item.ends_at) != _utc(restriction.ends_at):
                item_end = "never" if item.ends_at is None else when(plan, item.ends_at)
                problems.append(
                    f"avoid item {item.key} ({item.title!r}) ends {item_end}, but the "
                    f"restriction '{restriction.label}' ({key}) it repeats ends "
                    f"{when(plan, restriction.ends_at)}"
                )
    return problems


def restrictions_ending_apart_from_one_they_repeat(plan: Plan) -> list[str]:
    problems = []
    for restriction in plan.restrictions:
        for other in plan.restrictions:
            if other.key == restriction.key:
                continue
            if other.key not in named_restrictions(_restriction_text(restriction)):
                continue
            if _utc(other.ends_at) != _utc(restriction.ends_at):
                named = VOCABULARY[other.key].mentions(_restriction_text(restriction))
                problems.append(
                    f"restriction {restriction.key} ({restriction.label!r}) names "
                    f"{', '.join(sorted(set(named)))} and ends {when(plan, restriction.ends_at)}, "
                    f"but '{other.label}' ({other.key}) ends {when(plan, other.ends_at)}"
                )
    return problems


def _days_between(plan: Plan, start: datetime, end: datetime | None) -> set[int]:
    first = plan.day_number_at(start)
    if end is None:
        end = _utc(start) + SHOWN_FOR
    if _utc(end) <= _utc(start):
        return {first}
    last = plan.day_number_at(_utc(end) - timedelta(microseconds=1))
    return set(range(first, last + 1))


def _label_problems(
    where: str, texts: list[tuple[str, bool]], shown_on: set[int], problems: list[str]
) -> None:
    for text, heading in texts:
        for label in day_labels(text, heading=heading):
            wrong = sorted(day for day in shown_on if not label.fits(day))
            if wrong:
                problems.append(
                    f"{where} says {label.describe()} but is shown on day "
                    f"{', '.join(map(str, wrong))}"
                )


def items_labelled_with_other_days(plan: Plan) -> list[str]:
    problems: list[str] = []
    for item in plan.items:
        shown_on = {day.number for day in plan.days if item.key in day.item_keys}
        shown_on |= _days_between(plan, item.starts_at, item.ends_at)
        where = f"{item.kind} item {item.key} ({when(plan, item.starts_at)} to " + (
            "the end)" if item.ends_at is None else f"{when(plan, item.ends_at)})"
        )
        _label_problems(where, [(item.title, True), (item.body_md, False)], shown_on, problems)
    return problems


def phases_labelled_with_other_days(plan: Plan) -> list[str]:
    problems: list[str] = []
    for phase in plan.phases:
        # The timeline shows a day's phase as it stands at the day's start; the today page
        # shows the phase of the moment, so a phase is seen on every day it touches.
        shown_on = {day.number for day in plan.days if day.phase_key == phase.key}
        shown_on |= _days_between(plan, phase.starts_at, phase.ends_at)
        where = f"phase {phase.key} ({phase.name!r})"
        _label_problems(where, [(phase.name, True), (phase.summary_md, False)], shown_on, problems)
    return problems


def reminders_labelled_with_other_days(plan: Plan) -> list[str]:
    problems: list[str] = []
    for reminder in plan.reminders:
        # Listed under its day number, read on the day it is sent (a day-0 email for an
        # evening treatment goes out the next morning).
        shown_on = {reminder.day_number, plan.day_number_at(reminder.send_at)}
        where = f"reminder {reminder.key} ({reminder.label!r})"
        texts = [(reminder.label, True), (reminder.summary_md, False)]
        _label_problems(where, texts, shown_on, problems)
    return problems


def assert_none(plan: Plan, problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{treated(plan)}:\n  " + "\n  ".join(problems), pytrace=False)


# ---------------------------------------------------------------------------
# Named treatments
# ---------------------------------------------------------------------------

EXAMPLE_ZONES = ("Europe/London", "Australia/Sydney", "Asia/Singapore")


@dataclass(frozen=True)
class Example:
    name: str
    local_time: tuple[int, int, int, int, int]  # year, month, day, hour, minute
    depth_mm: str
    passes: int
    areas: tuple[str, ...]
    device: str = "pen"
    skin_type: int | None = 3
    age_years: int | None = 40
    history: tuple[str, ...] = ()


EXAMPLES = (
    Example("light-cheeks-10h00", (2026, 1, 14, 10, 0), "0.25", 1, ("cheeks",), skin_type=2),
    Example("evening-19h30", (2026, 7, 8, 19, 30), "1.0", 3, ("cheeks", "forehead")),
    Example(
        "intense-rf-five-areas",
        (2026, 3, 10, 11, 15),
        "2.5",
        8,
        ("forehead", "periorbital", "cheeks", "perioral", "chin_jawline"),
        device="rf",
        skin_type=5,
        age_years=58,
        history=("breakout_prone", "slow_healing"),
    ),
    Example("scalp-only", (2026, 10, 5, 14, 0), "1.5", 3, ("scalp",), age_years=35),
    Example("body-only", (2026, 5, 20, 9, 0), "2.0", 4, ("body",), device="roller"),
    Example(
        "neck-only",
        (2026, 12, 2, 16, 45),
        "0.75",
        2,
        ("neck",),
        skin_type=None,
        age_years=None,
        history=("sensitive_skin",),
    ),
)


def example_plan(example: Example, zone: str, guidance: Guidance = DEFAULT_GUIDANCE) -> Plan:
    clinic = located(
        ClinicFacts(
            name="Harbour Lane Skin Clinic",
            phone="+44 20 7946 0000",
            email="hello@harbourlane.example",
            timezone="UTC",
        ),
        zone,
    )
    treatment = TreatmentFacts(
        performed_at=datetime(*example.local_time, tzinfo=ZoneInfo(zone)),
        depth_mm=Decimal(example.depth_mm),
        passes=example.passes,
        areas=frozenset(example.areas),
        device=example.device,
        skin_type=example.skin_type,
        age_years=example.age_years,
        history=frozenset(example.history),
    )
    return build_plan(treatment, clinic, guidance)


def example_plans() -> Iterator[object]:
    for example in EXAMPLES:
        for zone in EXAMPLE_ZONES:
            yield pytest.param(example, zone, id=f"{example.name}-{zone.split('/')[1]}")


examples = pytest.mark.parametrize(("example", "zone"), list(example_plans()))
PROPERTIES = settings(max_examples=100, deadline=None)
# The hourly sweep makes each example slower (about 0.1 s).
SWEEP_PROPERTIES = settings(max_examples=40, deadline=None)


# ---------------------------------------------------------------------------
# The vocabulary and the heuristics
# ---------------------------------------------------------------------------


def test_the_named_treatments_treat_known_areas():
    assert {area for example in EXAMPLES for area in example.areas} <= set(AREAS)


def test_every_shipped_restriction_has_a_vocabulary():
    assert {r.key for r in DEFAULT_GUIDANCE.restrictions} <= set(VOCABULARY)


@pytest.mark.parametrize("restriction", DEFAULT_GUIDANCE.restrictions, ids=lambda r: r.key)
def test_each_restriction_names_what_its_vocabulary_lists(restriction):
    text = f"{restriction.label}.\n{restriction.body_md}"
    assert restriction.key in named_restrictions(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Put on your usual make-up.", "makeup"),
        ("A light foundation is fine.", "makeup"),
        ("Back to the gym.", "exercise"),
        ("A hard workout helps.", "exercise"),
        ("Book a sunbed session.", "sun"),
        ("Some direct sun is fine.", "sun"),
        ("Go back to your retinol serum.", "actives"),
        ("An AHA toner brightens.", "actives"),
        ("Use a gentle scrub.", "actives"),
        ("A vitamin C serum brightens.", "vitamin_c"),
        ("A scented body lotion is fine.", "fragrance_alcohol"),
        ("Alcohol-based toners are fine.", "fragrance_alcohol"),
        ("Take ibuprofen for pain.", "anti_inflammatories"),
        ("Hold an ice pack on it.", "ice_arnica_bromelain"),
        ("Arnica gel helps bruises.", "ice_arnica_bromelain"),
        ("Enjoy a hot shower.", "hot_water_steam"),
        ("A sauna relaxes you.", "hot_water_steam"),
        ("A swim in the sea is fine.", "swimming"),
        ("Relax in the hot tub.", "swimming"),
        ("Book your waxing.", "hair_removal"),
        ("Laser hair removal is fine.", "hair_removal"),
        ("Book a chemical peel.", "other_treatments"),
        ("A facial will refresh you.", "other_treatments"),
        ("A laser session evens tone.", "other_treatments"),
    ],
)
def test_the_vocabulary_names_the_forbidden_thing(text, key):
    assert key in named_restrictions(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("A serum with hyaluronic acid helps.", "actives"),
        ("Creams with ceramides, fatty acids and cholesterol help.", "actives"),
        ("Foods rich in vitamin C and zinc help.", "vitamin_c"),
        ("Foods rich in vitamins C and E help.", "vitamin_c"),
        ("Put on sunscreen every morning.", "sun"),
        ("It feels a bit like a light sunburn.", "sun"),
        ("Use simple, fragrance-free products.", "fragrance_alcohol"),
        ("Hair dye, perms and relaxers must wait.", "fragrance_alcohol"),
        ("Light peeling or flaking may begin.", "other_treatments"),
        ("Your skin peels a little.", "other_treatments"),
        ("Laser hair removal waits two weeks.", "other_treatments"),
        ("Wash your makeup brushes.", "makeup"),
        ("Shaving is fine with a clean blade.", "hair_removal"),
        ("Use lukewarm water.", "hot_water_steam"),
        ("Keep taking a daily low-dose aspirin.", "anti_inflammatories"),
    ],
)
def test_the_vocabulary_ignores_look_alikes(text, key):
    assert key not in named_restrictions(text)


@pytest.mark.parametrize(
    "text",
    [
        "Don't put ice on swelling.",
        "Use a mild cleanser without fragrance.",
        "Leave makeup off for now.",
        "Wait two weeks before a peel.",
        "After your sweat session is fine.",
        "Keep strong acids on hold.",
        "Before you wear makeup again, wash your brushes.",
        "When you start again, go for mineral makeup first.",
        "Old makeup on them holds germs.",
        "Never swim in a lake while healing.",
    ],
)
def test_a_held_back_mention_does_not_allow(text):
    assert allowing_mentions(text) == ()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("You can wear makeup again.", "makeup"),
        ("From today a swim is fine.", "swimming"),
        ("Go ahead with your usual workout; it helps.", "exercise"),
        ("For dry spots, a glycolic toner helps.", "actives"),
    ],
)
def test_a_plain_mention_allows(text, key):
    assert [found for found, _ in allowing_mentions(text)] == [key]


@pytest.mark.parametrize(
    ("text", "heading", "days"),
    [
        ("Day 1: the peak", True, (1, 1)),
        ("Days 4 to 5: some flaking", True, (4, 5)),
        ("Days 4-5: some flaking", True, (4, 5)),
        ("Week 2: smoother texture", True, (7, 13)),
        ("Checking in on day 2", True, (2, 2)),
        ("On the second day the redness fades.", False, (1, 1)),
        ("During the second week skin feels smoother.", False, (7, 13)),
        ("For the first three days your skin is busy.", False, (0, 2)),
        ("From about day 4 to day 7 collagen forms.", False, (3, 8)),
        ("Day three: calmer.", False, (3, 3)),
    ],
)
def test_a_day_label_names_the_days_it_fits(text, heading, days):
    assert [(label.first, label.last) for label in day_labels(text, heading=heading)] == [days]


@pytest.mark.parametrize(
    "text",
    [
        "From day 3 you can start adding products back.",
        "From the second day, put on sunscreen.",
        "By the third day most of the redness has gone.",
        "Calmer skin by day three.",
        "Redness that gets worse after day 2 or 3.",
        "The first three days are behind you.",
        "The first day is usually the peak.",
        "Redness usually settles within 24 to 48 hours.",
        "On the first day, stay out of the sun. From the second day, use sunscreen.",
    ],
)
def test_a_reference_to_another_day_is_not_a_label(text):
    assert day_labels(text, heading=False) == []


LIGHT = EXAMPLES[0]  # 10:00 in London: swimming waits 96 h, to day 4 at 10:00


def light_plan_with(item: GuidanceItem) -> Plan:
    guidance = replace(DEFAULT_GUIDANCE, items=(*DEFAULT_GUIDANCE.items, item))
    return example_plan(LIGHT, "Europe/London", guidance)


def swim_item(kind: str, title: str, hours: tuple[int, int]) -> GuidanceItem:
    return GuidanceItem(
        key="test-swim",
        kind=kind,
        title=title,
        body_md="Pools and the sea.",
        starts_after_hours=hours[0],
        ends_after_hours=hours[1],
    )


def about_test_item(problems: list[str]) -> list[str]:
    return [problem for problem in problems if "test-swim" in problem]


def test_the_check_finds_an_item_that_allows_a_forbidden_thing():
    plan = light_plan_with(swim_item("do", "A swim is fine", (48, 120)))
    problems = about_test_item(items_allowing_what_a_restriction_forbids(plan))
    assert len(problems) == 1
    assert "(swimming, until day 4" in problems[0]
    assert "at day 2" in problems[0]


def test_an_item_that_starts_when_its_restriction_ends_may_allow_it():
    plan = light_plan_with(swim_item("do", "A swim is fine", (96, 120)))
    assert about_test_item(items_allowing_what_a_restriction_forbids(plan)) == []


def test_the_check_finds_an_avoid_item_that_outlasts_its_restriction():
    plan = light_plan_with(swim_item("avoid", "Swimming", (0, 168)))
    problems = about_test_item(avoid_items_ending_apart_from_their_restriction(plan))
    assert len(problems) == 1
    assert "ends day 7" in problems[0]


def test_an_avoid_item_that_ends_with_its_restriction_passes():
    plan = light_plan_with(swim_item("avoid", "Swimming", (0, 96)))
    assert about_test_item(avoid_items_ending_apart_from_their_restriction(plan)) == []


def test_the_check_finds_a_day_label_shown_on_another_day():
    plan = light_plan_with(swim_item("expect", "Day 1: calm water", (0, 14)))
    problems = about_test_item(items_labelled_with_other_days(plan))
    assert len(problems) == 1
    assert "'Day 1' (day 1) but is shown on day 0" in problems[0]


def test_a_day_label_shown_only_on_its_day_passes():
    # 14 hours after 10:00 is midnight: the item stays on the treatment day.
    plan = light_plan_with(swim_item("expect", "Day 0: calm water", (0, 14)))
    assert about_test_item(items_labelled_with_other_days(plan)) == []


# ---------------------------------------------------------------------------
# The shipped guidance, on named treatments
# ---------------------------------------------------------------------------


@examples
def test_no_item_allows_what_an_active_restriction_forbids(example, zone):
    plan = example_plan(example, zone)
    problems = items_allowing_what_a_restriction_forbids(plan)
    assert_none(plan, problems)


@examples
def test_no_phase_summary_allows_what_an_active_restriction_forbids(example, zone):
    plan = example_plan(example, zone)
    problems = phases_allowing_what_a_restriction_forbids(plan)
    assert_none(plan, problems)


@examples
def test_no_reminder_allows_what_a_restriction_forbids_when_it_is_sent(example, zone):
    plan = example_plan(example, zone)
    problems = reminders_allowing_what_a_restriction_forbids(plan)
    assert_none(plan, problems)


@examples
def test_an_avoid_item_ends_with_the_restriction_it_repeats(example, zone):
    plan = example_plan(example, zone)
    problems = avoid_items_ending_apart_from_their_restriction(plan)
    assert_none(plan, problems)


@examples
def test_restrictions_that_name_the_same_thing_end_together(example, zone):
    plan = example_plan(example, zone)
    problems = restrictions_ending_apart_from_one_they_repeat(plan)
    assert_none(plan, problems)


@examples
def test_item_day_labels_fit_the_days_the_item_is_shown(example, zone):
    plan = example_plan(example, zone)
    problems = items_labelled_with_other_days(plan)
    assert_none(plan, problems)


@examples
def test_phase_day_labels_fit_the_days_the_phase_is_shown(example, zone):
    plan = example_plan(example, zone)
    problems = phases_labelled_with_other_days(plan)
    assert_none(plan, problems)


@examples
def test_reminder_day_labels_fit_the_reminder_day(example, zone):
    plan = example_plan(example, zone)
    problems = reminders_labelled_with_other_days(plan)
    assert_none(plan, problems)


# ---------------------------------------------------------------------------
# The shipped guidance, on random treatments
# ---------------------------------------------------------------------------


@SWEEP_PROPERTIES
@given(cases())
def test_no_text_allows_what_an_active_restriction_forbids_for_any_treatment(case):
    plan = plan_for(*case)
    problems = [
        *items_allowing_what_a_restriction_forbids(plan),
        *phases_allowing_what_a_restriction_forbids(plan),
        *reminders_allowing_what_a_restriction_forbids(plan),
    ]
    assert_none(plan, problems)


@PROPERTIES
@given(cases())
def test_nothing_repeats_a_restriction_with_another_end_for_any_treatment(case):
    plan = plan_for(*case)
    problems = [
        *avoid_items_ending_apart_from_their_restriction(plan),
        *restrictions_ending_apart_from_one_they_repeat(plan),
    ]
    assert_none(plan, problems)


@PROPERTIES
@given(cases())
def test_day_labels_fit_the_days_they_are_shown_for_any_treatment(case):
    plan = plan_for(*case)
    problems = [
        *items_labelled_with_other_days(plan),
        *phases_labelled_with_other_days(plan),
        *reminders_labelled_with_other_days(plan),
    ]
    assert_none(plan, problems)
