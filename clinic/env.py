"""Small typed readers for settings that come from the environment.

Each one refuses a value it cannot understand with ImproperlyConfigured, so a
typo in a deployment fails at start-up instead of running with a default.
"""

from __future__ import annotations

import os
from urllib.parse import ParseResult, parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


# EMAIL_URL schemes that send through an email provider's API with django-anymail:
# scheme -> (anymail backend, setting prefix, the host part of the URL is ...).
PROVIDERS = {
    "postmark": ("postmark", "POSTMARK", None),
    "mailgun": ("mailgun", "MAILGUN", "MAILGUN_SENDER_DOMAIN"),
    "sendgrid": ("sendgrid", "SENDGRID", None),
    "brevo": ("brevo", "BREVO", None),
    "ses": ("amazon_ses", "AMAZON_SES", "region_name"),
}
SCHEMES = "smtp, smtp+tls, smtps, console, file, locmem, " + ", ".join(PROVIDERS)


def email_settings(url: str) -> dict[str, object]:
    """Django email settings from an EMAIL_URL.

    smtp://user:pass@host:port, smtp+tls://... (STARTTLS), smtps://... (implicit TLS),
    console:// (print to the terminal), file:///path/to/folder, locmem://; or an email
    provider through django-anymail, the API key percent-encoded before the @:
    postmark://SERVER_TOKEN@, sendgrid://API_KEY@, brevo://API_KEY@,
    mailgun://API_KEY@SENDING_DOMAIN, ses://REGION (AWS credentials from the usual
    AWS variables) or ses://ACCESS_KEY_ID:SECRET@REGION. Providers take `?api_url=`
    (Mailgun's EU region, say; `?endpoint_url=` for SES) and `?timeout=` (seconds).
    The result holds an ANYMAIL dict for the provider's settings.
    """
    parsed = urlparse(url)
    scheme = parsed.scheme
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parsed.path),
        }
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    timeout = _seconds(options.get("timeout", "10"), url)
    if scheme in {"smtp", "smtp+tls", "smtps"}:
        if not parsed.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL {url!r} has no host")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parsed.hostname,
            "EMAIL_PORT": parsed.port or (465 if scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parsed.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_TIMEOUT": timeout,
        }
    if scheme in PROVIDERS:
        return _provider_settings(scheme, parsed, options, timeout)
    raise ImproperlyConfigured(f"EMAIL_URL scheme {scheme!r} is not one of {SCHEMES}")


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


def _seconds(raw: str, url: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL {url!r}: timeout must be whole seconds") from None
