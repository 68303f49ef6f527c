"""The Django admin, limited to the clinic of the staff member using it.

Every ModelAdmin of the project derives from `ClinicScopedAdmin` (or is listed as
superuser-only in `tests/clinic/test_admin_isolation.py`, which fails by name for a
model that is neither). Superusers, who run the platform, see every clinic; anyone
else sees, searches, changes, deletes and picks only their own clinic's rows:

- `clinic_lookup` is the ORM path from the model to its clinic ("clinic",
  "treatment__clinic", ...); `get_queryset` filters on it, and the admin's change,
  history and delete pages, its actions, its date drill-down and the autocomplete
  endpoint all start from that queryset.
- Foreign-key choices are limited the same way, using the `clinic_lookup` of the
  related model's own admin (users: through their staff membership). A foreign key
  to the clinic itself is fixed to the user's clinic and cannot be changed, so nobody
  moves a row, or themselves, into another clinic.
- List filters on the clinic are shown to superusers only (they would list the
  names of every clinic).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.access import membership_for
from clinic.models import Clinic

M = TypeVar("M", bound=models.Model)


def clinic_of(request: HttpRequest) -> Clinic | None:
    """The clinic whose rows the request may see; None for a superuser (all of them)."""
    membership = membership_for(request)
    return membership.clinic if membership is not None else None


def sees_every_clinic(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def scope_to_clinic(request: HttpRequest, queryset: QuerySet[M], lookup: str) -> QuerySet[M]:
    """`queryset` limited to the request's clinic through `lookup` (all for superusers)."""
    if sees_every_clinic(request):
        return queryset
    clinic = clinic_of(request)
    if clinic is None:
        return queryset.none()
    return queryset.filter(**{lookup: clinic.pk})


class ClinicScopedAdmin(admin.ModelAdmin[Any]):
    clinic_lookup: str = "clinic"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_clinic(request, super().get_queryset(request), self.clinic_lookup)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not sees_every_clinic(request):
            related = db_field.related_model
            assert not isinstance(related, str)  # "self" is resolved once the apps are loaded
            if related is Clinic:
                clinic = clinic_of(request)
                own = (
                    Clinic.objects.filter(pk=clinic.pk)
                    if clinic is not None
                    else Clinic.objects.none()
                )
                kwargs["queryset"] = own
                kwargs["initial"] = own.first()
                kwargs["disabled"] = True
            else:
                queryset = kwargs.get("queryset", related._default_manager.all())
                kwargs["queryset"] = scope_to_clinic(
                    request, queryset, self._clinic_lookup_for(related)
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _clinic_lookup_for(self, related: type[models.Model]) -> str:
        if related is get_user_model():
            return "membership__clinic"
        related_admin = self.admin_site._registry.get(related)
        lookup: str | None = getattr(related_admin, "clinic_lookup", None)
        if lookup is None:
            raise LookupError(
                f"{type(self).__name__} offers {related.__name__} rows, "
                "but nothing says which clinic they belong to."
            )
        return lookup

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)
        if sees_every_clinic(request):
            return filters
        return [name for name in filters if not self._filters_on_clinic(name)]

    def _filters_on_clinic(self, list_filter: Any) -> bool:
        name = list_filter[0] if isinstance(list_filter, tuple | list) else list_filter
        if not isinstance(name, str):
            return False
        field = self.model._meta.get_field(name.split("__")[0])
        return getattr(field, "related_model", None) is Clinic
