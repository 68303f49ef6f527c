"""Writing one reminder text: the clinic's name, the day's one or two points, the link.

A text shows on a lock screen, so it says no more about the patient's health than an
email's subject does: the reminder's label (e.g. "The morning after"), and the titles of
the day's general care points, never the patient's name, areas, notes or symptoms.

It fits in at most two GSM-7 segments (306 characters, what a carrier bills as two
texts): typographic characters are written plainly, and when the whole does not fit the
second point goes, then the first, then the clinic's name is shortened.
"""

from __future__ import annotations

from aftercare.delivery.gsm7 import segments, to_gsm7
from aftercare.models import Reminder
from aftercare.planner.planning import Plan
from aftercare.planner.today import today_items

MAX_SEGMENTS = 2
POINTS_IN_A_TEXT = 2
# Points a text carries: things to do or avoid. What to expect is symptoms: not for a
# lock screen.
POINT_KINDS = ("do", "avoid")
NEW_LINK_KIND_PREFIX = "new-link-"
OPT_OUT = "Reply STOP to opt out."
SHORT_NAME = 30


def reminder_text(reminder: Reminder, *, plan: Plan, plan_url: str) -> str:
    clinic_name = reminder.plan.treatment.clinic.sender_name
    if reminder.kind.startswith(NEW_LINK_KIND_PREFIX):
        return compose(
            clinic_name=clinic_name,
            label="Your new aftercare link (earlier links no longer work)",
            points=[],
            url=plan_url,
        )
    label = reminder.label.strip().rstrip(".").casefold()
    points = [
        item.title
        for item in today_items(plan, reminder.due_at)
        if item.kind in POINT_KINDS and item.title.strip().rstrip(".").casefold() != label
    ][:POINTS_IN_A_TEXT]
    return compose(clinic_name=clinic_name, label=reminder.label, points=points, url=plan_url)


def compose(*, clinic_name: str, label: str, points: list[str], url: str) -> str:
    """The longest text of these parts that fits in MAX_SEGMENTS."""
    name = " ".join(to_gsm7(clinic_name).split())
    short = name if len(name) <= SHORT_NAME else name[: SHORT_NAME - 3].rstrip() + "..."
    for sender in dict.fromkeys((name, short)):
        for count in range(len(points), -1, -1):
            text = _text(sender, label, points[:count], url)
            if segments(text) <= MAX_SEGMENTS:
                return text
    return _text(short, "", [], url)


def _text(name: str, label: str, points: list[str], url: str) -> str:
    sentences = [_sentence(part) for part in (label, *points) if _sentence(part) != "."]
    words = " ".join(sentences)
    head = f"{name}: {words}" if name else words
    return f"{head.strip()}\n{url}\n{OPT_OUT}"


def _sentence(text: str) -> str:
    plain = " ".join(to_gsm7(text).split())
    return plain if plain.endswith((".", "!", "?")) else plain + "."
