"""EMAIL_URL: Django's email settings from one URL.

SMTP and Django's own backends are parsed by django-environ (`Env.email_url_config`); the
email providers sent to through django-anymail (Postmark, SES, Mailgun, SendGrid, Brevo)
are parsed here, as django-environ does not know them. A URL that cannot be understood is
refused with ImproperlyConfigured, so a typo in a deployment fails at start-up.
"""

from __future__ import annotations

from urllib.parse import ParseResult, parse_qs, unquote, urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

# Our scheme names -> django-environ's. Its `smtps` means STARTTLS; ours, like port 465,
# means TLS from the first byte, which it calls `smtp+ssl`.
DJANGO_SCHEMES = {
    "smtp": "smtp",
    "smtp+tls": "smtp+tls",
    "smtps": "smtp+ssl",
    "console": "consolemail",
    "file": "filemail",
    "locmem": "memorymail",
}
# EMAIL_URL schemes that send through an email provider's API with django-anymail:
# scheme -> (anymail backend, setting prefix, the host part of the URL is ...).
PROVIDERS = {
    "postmark": ("postmark", "POSTMARK", None),
    "mailgun": ("mailgun", "MAILGUN", "MAILGUN_SENDER_DOMAIN"),
    "sendgrid": ("sendgrid", "SENDGRID", None),
    "brevo": ("brevo", "BREVO", None),
    "ses": ("amazon_ses", "AMAZON_SES", "region_name"),
}
SCHEMES = ", ".join([*DJANGO_SCHEMES, *PROVIDERS])


def email_settings(url: str) -> dict[str, object]:
    """Django email settings from an EMAIL_URL.

    smtp://user:pass@host:port, smtp+tls://... (STARTTLS), smtps://... (implicit TLS),
    console:// (print to the terminal), file:///path/to/folder, locmem://; or an email
    provider through django-anymail, the API key percent-encoded before the @:
    postmark://SERVER_TOKEN@, sendgrid://API_KEY@, brevo://API_KEY@,
    mailgun://API_KEY@SENDING_DOMAIN, ses://REGION (AWS credentials from the usual
    AWS variables) or ses://ACCESS_KEY_ID:SECRET@REGION. SMTP and the providers take
    `?timeout=` (seconds, 10); providers also `?api_url=` (Mailgun's EU region, say;
    `?endpoint_url=` for SES). For a provider the result holds an ANYMAIL dict.
    """
    parsed = urlparse(url)
    scheme = parsed.scheme
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    if scheme in PROVIDERS:
        return _provider_settings(scheme, parsed, options, _seconds(options, url))
    if scheme not in DJANGO_SCHEMES:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {scheme!r} is not one of {SCHEMES}")
    # Our only query option is the timeout: django-environ would put the rest in OPTIONS,
    # which Django's email settings do not read.
    config = environ.Env.email_url_config(parsed._replace(scheme=DJANGO_SCHEMES[scheme], query=""))
    backend = {"EMAIL_BACKEND": config["EMAIL_BACKEND"]}
    if scheme == "file":
        # django-environ drops the leading / (file:///var/mail would be var/mail).
        return backend | {"EMAIL_FILE_PATH": unquote(parsed.path)}
    if scheme in {"console", "locmem"}:
        return backend
    if not config["EMAIL_HOST"]:
        raise ImproperlyConfigured(f"EMAIL_URL {url!r} has no host")
    use_ssl = config.get("EMAIL_USE_SSL", False)
    return backend | {
        "EMAIL_HOST": config["EMAIL_HOST"],
        "EMAIL_PORT": config["EMAIL_PORT"] or (465 if use_ssl else 25),
        "EMAIL_HOST_USER": config["EMAIL_HOST_USER"] or "",
        "EMAIL_HOST_PASSWORD": config["EMAIL_HOST_PASSWORD"] or "",
        "EMAIL_USE_TLS": config.get("EMAIL_USE_TLS", False),
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": _seconds(options, url),
    }


def _provider_settings(
    scheme: str, parsed: ParseResult, options: dict[str, str], timeout: int
) -> dict[str, object]:
    backend, prefix, host_setting = PROVIDERS[scheme]
    username = unquote(parsed.username or "")
    password = unquote(parsed.password or "")
    host = parsed.hostname or ""
    anymail: dict[str, object] = {"REQUESTS_TIMEOUT": timeout}
    if scheme == "ses":
        if not host:
            raise ImproperlyConfigured("EMAIL_URL ses://REGION needs the AWS region")
        client: dict[str, object] = {"region_name": host}
        if username or password:
            client |= {"aws_access_key_id": username, "aws_secret_access_key": password}
        if "endpoint_url" in options:
            client["endpoint_url"] = options["endpoint_url"]
        client["config"] = {"connect_timeout": timeout, "read_timeout": timeout}
        anymail["AMAZON_SES_CLIENT_PARAMS"] = client
    else:
        key = password or username
        if not key:
            raise ImproperlyConfigured(f"EMAIL_URL {scheme}://API_KEY@ needs the API key")
        key_name = "SERVER_TOKEN" if scheme == "postmark" else "API_KEY"
        anymail[f"{prefix}_{key_name}"] = key
        if host_setting:
            if not host:
                raise ImproperlyConfigured(
                    f"EMAIL_URL {scheme}://API_KEY@DOMAIN needs the sending domain"
                )
            anymail[host_setting] = host
        if "api_url" in options:
            anymail[f"{prefix}_API_URL"] = options["api_url"]
    return {"EMAIL_BACKEND": f"anymail.backends.{backend}.EmailBackend", "ANYMAIL": anymail}


def _seconds(options: dict[str, str], url: str) -> int:
    try:
        return int(options.get("timeout", "10"))
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL {url!r}: timeout must be whole seconds") from None
