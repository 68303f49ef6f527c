"""The email providers' delivery-report webhooks, served by django-anymail's own views.

Only the tracking webhooks of the providers EMAIL_URL can name are routed (no inbound
mail). Each view checks the request's basic auth against EMAIL_WEBHOOK_SECRET, and
Mailgun's and SendGrid's views the provider's own signature too; a bad one gets 400
and records nothing. Until EMAIL_WEBHOOK_SECRET is set the addresses answer 404, so
they are never open to anyone who finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

app_name = "webhooks"

TRACKING_VIEWS = {
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
    "postmark": PostmarkTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
}


def _configured_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)  # keeps anymail's csrf_exempt
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404("email provider webhooks are not configured")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    path(f"{provider}/tracking/", _configured_only(view.as_view()), name=f"{provider}_tracking")
    for provider, view in TRACKING_VIEWS.items()
]
