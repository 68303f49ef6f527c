"""Who a patient calls about a warning sign: the one answer every page, email and print
sheet gives (templates/aftercare/_who_to_call.html and .txt show it).

A severe allergic reaction always means the local emergency number. Any other warning
sign means the clinic: its own number while it is open, its out-of-hours number while it
is closed. Read at a known moment (a patient page) the answer says which applies now;
read at an unknown one (an email, the print sheet) it gives both numbers with the hours.
A clinic that gave no opening hours gets both numbers and no claim about open or closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import prefetch_related_objects

from clinic.countries import tel_uri
from clinic.models import Clinic


@dataclass(frozen=True)
class WhoToCall:
    clinic_name: str
    clinic_phone: str
    emergency_number: str
    out_of_hours_phone: str  # "" when the clinic has none
    hours: str  # the opening hours in a line; "" when the clinic gave none
    # True or False at a known moment for a clinic with opening hours; None otherwise.
    open_now: bool | None
    opens_again: str  # when a closed clinic opens next, in words ("tomorrow at 9:00")

    @property
    def closed_now(self) -> bool:
        return self.open_now is False

    @property
    def call_now(self) -> str:
        """The number for a warning sign that is no emergency, now: "" when the clinic is
        closed and has no out-of-hours number."""
        return self.out_of_hours_phone if self.closed_now else self.clinic_phone

    @property
    def emergency_tel(self) -> str:
        return tel_uri(self.emergency_number)

    @property
    def clinic_tel(self) -> str:
        return tel_uri(self.clinic_phone)

    @property
    def out_of_hours_tel(self) -> str:
        return tel_uri(self.out_of_hours_phone) if self.out_of_hours_phone else ""

    @property
    def call_now_tel(self) -> str:
        return tel_uri(self.call_now) if self.call_now else ""


def who_to_call(*, clinic: Clinic, at: datetime | None) -> WhoToCall:
    """Who to call about a warning sign at `at` (aware), or at a moment not known (None)."""
    prefetch_related_objects([clinic], "opening_hours")
    open_now = clinic.is_open_at(at) if at is not None else None
    opens_again = ""
    if at is not None and open_now is False:
        opens = clinic.next_opening_after(at)
        if opens is not None:
            opens_again = _when(opens, now=at.astimezone(clinic.zone))
    return WhoToCall(
        clinic_name=clinic.name,
        clinic_phone=clinic.phone,
        emergency_number=clinic.emergency_phone,
        out_of_hours_phone=clinic.out_of_hours_phone,
        hours=clinic.opening_hours_summary(),
        open_now=open_now,
        opens_again=opens_again,
    )


def _when(moment: datetime, *, now: datetime) -> str:
    clock = f"{moment.hour}:{moment.minute:02d}"
    days = (moment.date() - now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {moment:%A} at {clock}"
