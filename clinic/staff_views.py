"""Clinic admins manage their own clinic's staff."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from clinic.access import StaffRequest, staff_required
from clinic.models import StaffMembership
from clinic.services import staff_for, staff_member_create, staff_member_update
from clinic.staff_forms import StaffCreateForm, StaffEditForm


@staff_required(perms=["clinic.view_staffmembership"])
def staff_list(request: StaffRequest) -> HttpResponse:
    return render(
        request, "clinic/staff_list.html", {"staff": staff_for(request.membership.clinic)}
    )


@staff_required(perms=["clinic.add_staffmembership"])
def staff_create(request: StaffRequest) -> HttpResponse:
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        staff_member_create(
            clinic=request.membership.clinic, user=user, role=form.cleaned_data["role"]
        )
        messages.success(request, f"{user.get_full_name()} can now log in.")
        return redirect("staff:list")
    return render(request, "clinic/staff_form.html", {"form": form, "member": None})


@staff_required(perms=["clinic.change_staffmembership"])
def staff_edit(request: StaffRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(
        StaffMembership.objects.select_related("user"),
        user_id=pk,
        clinic=request.membership.clinic,
    )
    form = StaffEditForm(
        request.POST or None,
        initial={"role": membership.role, "is_active": membership.user.is_active},
        editing_self=membership.user_id == request.user.pk,
    )
    if request.method == "POST" and form.is_valid():
        staff_member_update(
            membership=membership,
            role=form.cleaned_data["role"],
            is_active=form.cleaned_data["is_active"],
        )
        messages.success(request, "Staff member saved.")
        return redirect("staff:list")
    return render(request, "clinic/staff_form.html", {"form": form, "member": membership})
