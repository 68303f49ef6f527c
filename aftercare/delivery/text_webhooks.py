"""Twilio's webhooks: delivery reports (status callbacks) and replies (inbound messages).

Each checks Twilio's X-Twilio-Signature with the SDK's RequestValidator and
TWILIO_AUTH_TOKEN before anything else: a missing or wrong signature gets 403 and
changes nothing. The signature covers the address Twilio called, taken from SITE_URL
(never from the request's Host header, which a proxy may change). Both answer 404
while Twilio is not set up.

The status callback's address is given with each text (text_transports); the inbound
address is set once on the sending number or Messaging Service in Twilio's console:
SITE_URL + /texts/twilio/inbound/.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from aftercare.delivery.text_reports import text_reply_record, text_status_record

app_name = "texts"
TWIML = "application/xml"


def _signed_by_twilio(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if settings.TEXT_BACKEND != "twilio" or not settings.TWILIO_AUTH_TOKEN:
            raise Http404("Twilio is not set up")
        url = settings.SITE_URL + request.get_full_path()
        params = {key: request.POST.get(key, "") for key in request.POST}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature):
            return HttpResponseForbidden("bad signature")
        return view(request)

    return checked


@_signed_by_twilio
def status_callback(request: HttpRequest) -> HttpResponse:
    text_status_record(
        message_sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


@_signed_by_twilio
def inbound_message(request: HttpRequest) -> HttpResponse:
    outcome = text_reply_record(
        number=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        opt_out_type=request.POST.get("OptOutType", ""),
    )
    answer = MessagingResponse()
    if outcome.answer:
        answer.message(outcome.answer)
    return HttpResponse(str(answer), content_type=TWIML)


urlpatterns = [
    path("twilio/status/", status_callback, name="twilio_status"),
    path("twilio/inbound/", inbound_message, name="twilio_inbound"),
]
