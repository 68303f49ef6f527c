"""Offer the shipped default guidance (aftercare/planner/default_guidance.py) to every clinic.

Run after deploying a version whose default guidance changed. Without --apply it only
says what it would do. A row a clinic changed is never overwritten: it is listed as
kept, and the clinic admin can compare it and reset it in the admin.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftercare.guidance.clinic import guidance_offer_update
from clinic.models import Clinic


class Command(BaseCommand):
    help = (
        "Offer the shipped default guidance to every clinic (or --clinic SLUG): new rows are "
        "added and rows a clinic never changed are updated; rows a clinic changed are kept. "
        "Says what changed; writes nothing without --apply."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Make the changes.")
        parser.add_argument("--clinic", metavar="SLUG", help="Only this clinic.")

    def handle(
        self, *args: Any, apply: bool = False, clinic: str | None = None, **options: Any
    ) -> None:
        clinics = Clinic.objects.order_by("name")
        if clinic:
            clinics = clinics.filter(slug=clinic)
            if not clinics.exists():
                raise CommandError(f"No clinic with the slug {clinic!r}.")
        verb = "Changed" if apply else "Would change (run again with --apply)"
        for each in clinics:
            changes = guidance_offer_update(clinic=each, apply=apply)
            if not changes:
                self.stdout.write(f"{each.name}: up to date with the shipped default.")
                continue
            self.stdout.write(f"{each.name}: {verb}:")
            for change in changes:
                self.stdout.write(f"  - {change}")
