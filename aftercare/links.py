"""Unguessable, expiring, revocable links to a patient's plan, and unsubscribe links.

The unsubscribe link in an email (its List-Unsubscribe URL) must keep working for as
long as the patient exists (RFC 8058; anti-spam law), long after the plan link in the
same email has expired or been revoked. So it carries its own token, signed with the
patient's id: it never expires and needs nothing stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from aftercare.models import AftercarePlan, PatientLink

MIN_FRESH_LINK = timedelta(days=7)
UNSUBSCRIBE_SALT = "aftercare.unsubscribe"
TOKEN_LENGTH = 43  # a SHA-256 HMAC in unpadded URL-safe base64


def token_for(link: PatientLink) -> str:
    return _token(link.salt, settings.SECRET_KEY)


def _token(salt: str, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), f"patient-link:{salt}".encode(), hashlib.sha256)
    return urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_issue(*, plan: AftercarePlan, sending_at: datetime | None = None) -> PatientLink:
    """A new link for `plan`, valid until PATIENT_LINK_DAYS after the treatment.

    A link issued for an email sent after that (PATIENT_LINK_DAYS shorter than the
    reminder schedule) works for MIN_FRESH_LINK instead of arriving dead.
    """
    expires_at = plan.treatment.performed_at + timedelta(days=settings.PATIENT_LINK_DAYS)
    if sending_at is not None and sending_at >= expires_at:
        expires_at = sending_at + MIN_FRESH_LINK
    link = PatientLink(plan=plan, salt=secrets.token_hex(32), expires_at=expires_at)
    link.token_hash = hash_token(token_for(link))
    link.save()
    return link


def link_current(*, plan: AftercarePlan, now: datetime) -> PatientLink:
    """The plan's newest usable link, issuing one if there is none."""
    return links_current(plans=[plan], now=now)[plan.pk]


def links_current(*, plans: list[AftercarePlan], now: datetime) -> dict[int, PatientLink]:
    """link_current for many plans with one query (the dispatcher's batches)."""
    by_id = {plan.pk: plan for plan in plans}
    usable = (
        PatientLink.objects.usable(now)
        .filter(plan_id__in=by_id)
        .order_by("plan_id", "-created_at", "-id")
    )
    found: dict[int, PatientLink] = {}
    for link in usable:
        # A link made under an earlier SECRET_KEY can no longer be put in an email.
        if link.plan_id not in found and hmac.compare_digest(
            link.token_hash, hash_token(token_for(link))
        ):
            link.plan = by_id[link.plan_id]
            found[link.plan_id] = link
    for plan_id, plan in by_id.items():
        if plan_id not in found:
            found[plan_id] = link_issue(plan=plan, sending_at=now)
    return found


def link_addresses(link: PatientLink) -> tuple[str, str, str]:
    """The link's token, its URL and its one-click unsubscribe URL.

    The unsubscribe URL (/p/<clinic>/unsubscribe/<token>/) names the patient, not the
    link: it outlives the link.
    """
    treatment = link.plan.treatment
    clinic_slug = treatment.clinic.slug
    token = token_for(link)
    unsubscribe = _unsubscribe_token(treatment.patient_id, token, settings.SECRET_KEY)
    return (
        token,
        settings.SITE_URL + reverse("patient:open", args=[clinic_slug, token]),
        settings.SITE_URL + reverse("patient:list_unsubscribe", args=[clinic_slug, unsubscribe]),
    )


def link_url(link: PatientLink, name: str = "patient:open") -> str:
    """The absolute URL of the link, from SITE_URL (never from a request's Host header)."""
    clinic_slug = link.plan.treatment.clinic.slug
    return cast(str, settings.SITE_URL) + reverse(name, args=[clinic_slug, token_for(link)])


def link_for_token(token: str, *, now: datetime) -> PatientLink | None:
    """The link a token opens, or None if it is unknown, expired or revoked."""
    if not token or len(token) > 100:
        return None
    link = (
        PatientLink.objects.select_related("plan__treatment__patient", "plan__treatment__clinic")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None or not link.is_usable(now):
        return None
    # The token must still be this link's HMAC under the current SECRET_KEY.
    if not hmac.compare_digest(token_for(link), token):
        return None
    return link


def link_for_token_any_state(token: str) -> PatientLink | None:
    """The link a token was made for, even if expired, revoked or made under an old key.

    Only for the unsubscribe URLs of emails sent before those carried their own token
    (/p/<clinic>/<link token>/unsubscribe/): they must keep working. Knowing a token
    whose hash is stored is proof enough; the HMAC is not checked again, so a
    SECRET_KEY rotation does not kill them either.
    """
    if not token or len(token) > 100:
        return None
    return (
        PatientLink.objects.select_related("plan__treatment__patient", "plan__treatment__clinic")
        .filter(token_hash=hash_token(token))
        .first()
    )


def _unsubscribe_token(patient_id: int, link_token: str, secret_key: str) -> str:
    # "<patient id in base 36>-<link token><HMAC of both>": one run of URL-safe
    # characters, so clinic.logging masks all of it after /p/. The link token is in it
    # so that the clinic's kept copy of the email, which masks that token
    # (aftercare.delivery.dispatch.copy_of), holds no usable unsubscribe URL either; the HMAC,
    # not the link's row, is what makes it valid, so it outlives the link.
    digest = salted_hmac(
        UNSUBSCRIBE_SALT, f"{patient_id}:{link_token}", secret=secret_key, algorithm="sha256"
    ).digest()
    mac = urlsafe_b64encode(digest).decode().rstrip("=")
    return f"{int_to_base36(patient_id)}-{link_token}{mac}"


def patient_id_for_unsubscribe_token(token: str) -> int | None:
    """The id of the patient an unsubscribe token was made for, or None if it is not one.

    Tokens made under a key now in SECRET_KEY_FALLBACKS still count, so rotating the
    key does not break the unsubscribe links in emails already sent.
    """
    encoded_id, _, rest = token.partition("-")
    if len(token) > 150 or len(rest) != 2 * TOKEN_LENGTH:
        return None
    try:
        patient_id = base36_to_int(encoded_id)
    except ValueError:
        return None
    link_token = rest[:TOKEN_LENGTH]
    # Comparing the whole token with the one made for that id also refuses every
    # other spelling of the id that base36_to_int accepts.
    for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        if constant_time_compare(_unsubscribe_token(patient_id, link_token, secret_key), token):
            return patient_id
    return None


def links_revoke(*, patient_id: int, now: datetime) -> int:
    """Revoke every link to any of the patient's plans."""
    return PatientLink.objects.filter(
        plan__treatment__patient_id=patient_id, revoked_at__isnull=True
    ).update(revoked_at=now)
