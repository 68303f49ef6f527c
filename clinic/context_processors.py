from __future__ import annotations

from django.http import HttpRequest

from clinic.access import membership_for


def staff_clinic(request: HttpRequest) -> dict[str, object]:
    membership = membership_for(request)
    return {"staff_membership": membership, "staff_clinic": membership and membership.clinic}
