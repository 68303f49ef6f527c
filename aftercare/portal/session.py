"""The patient pages' own session, kept apart from the staff one.

Patient pages (everything under /p/) keep their session in the `patient_session` cookie,
which browsers send only to /p/; every other page keeps Django's `sessionid`. Neither
kind of page reads or writes the other's cookie, so in one browser:

- opening an emailed link while logged in as staff starts a patient session beside the
  staff one, which keeps its key, its data and its expiry (set_expiry(link.expires_at)
  would otherwise make a staff login last as long as the link);
- logging in as staff starts from the staff cookie alone, so the staff session never
  inherits a patient's link or the link's expiry (Django's login() keeps both when it
  cycles the key of a session that has no user yet);
- on a patient page request.user is always anonymous: authentication reads the patient
  session, which no login ever writes to.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix
from django.utils.cache import patch_vary_headers

PATIENT_PATH = "/p/"  # where clinic.urls mounts aftercare.portal.urls
PATIENT_COOKIE_NAME = "patient_session"
# What a patient session holds: the id of the link it was opened with,
LINK_SESSION_KEY = "patient_link_id"
# the id of the last report sent from it (its thank-you page reads it back after the redirect),
REPORT_SESSION_KEY = "patient_report_id"
# and, in a session opened without a link (the "email me a new link" form), a mark that gives
# the session a key for the form's token (aftercare.portal.views.form_token).
FORM_SESSION_KEY = "patient_form"


def is_patient_page(request: HttpRequest) -> bool:
    return request.path_info.startswith(PATIENT_PATH)


class PatientSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, with the patient pages on a cookie of their own."""

    def process_request(self, request: HttpRequest) -> None:
        if is_patient_page(request):
            request.session = self.SessionStore(request.COOKIES.get(PATIENT_COOKIE_NAME))
            return
        super().process_request(request)
        # A staff-side session holding a patient link was started before patient pages had
        # their own cookie, and may carry the link's months-long expiry: it is dropped (a
        # staff member in it logs in again) rather than kept, logged in to, or extended.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and LINK_SESSION_KEY in request.session:
            request.session.flush()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not is_patient_page(request):
            return super().process_response(request, response)
        # What SessionMiddleware.process_response does, with the patient cookie's name and path.
        session = getattr(request, "session", None)
        if session is None:
            return response
        path = get_script_prefix() + PATIENT_PATH.lstrip("/")
        if session.accessed or PATIENT_COOKIE_NAME in request.COOKIES:
            patch_vary_headers(response, ("Cookie",))
        if session.is_empty():
            if PATIENT_COOKIE_NAME in request.COOKIES:
                response.delete_cookie(
                    PATIENT_COOKIE_NAME,
                    path=path,
                    domain=settings.SESSION_COOKIE_DOMAIN,
                    samesite=settings.SESSION_COOKIE_SAMESITE,
                )
        elif (
            session.modified or settings.SESSION_SAVE_EVERY_REQUEST
        ) and response.status_code < 500:
            try:
                session.save()
            except UpdateError:
                raise SessionInterrupted(
                    "The patient's session was deleted before the request completed."
                ) from None
            response.set_cookie(
                PATIENT_COOKIE_NAME,
                session.session_key,
                max_age=None if session.get_expire_at_browser_close() else session.get_expiry_age(),
                domain=settings.SESSION_COOKIE_DOMAIN,
                path=path,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=settings.SESSION_COOKIE_HTTPONLY,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        return response
