"""Settings for the clinic aftercare project, read from the environment.

Every setting has a safe local default so `make run` works on a laptop with
nothing configured (SQLite, a filesystem Celery broker, emails printed to the
terminal). With ENVIRONMENT=production the defaults that are only safe locally
(the development SECRET_KEY, DEBUG) are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from clinic.env import email_settings

# Django's generic classes, subscriptable at run time as django-stubs types them
# (`admin.ModelAdmin[Patient]`, `forms.ModelForm[Patient]`).
django_stubs_ext.monkeypatch()


class Env(environ.Env):  # type: ignore[misc]  # django-environ has no type hints
    """django-environ, refusing the values it would misread.

    A bad yes/no or whole number fails at start-up and names the variable: django-environ's
    own bool() reads any word it does not know ("maybe", "ture") as false, and its int()
    raises a ValueError that does not say which variable.
    """

    BOOLEANS = {"1", "true", "yes", "on", "0", "false", "no", "off", ""}

    def bool(self, var: str, default: Any = environ.Env.NOTSET) -> Any:
        raw = self.ENVIRON.get(var)
        if raw is not None and raw.strip().lower() not in self.BOOLEANS:
            raise ImproperlyConfigured(f"{var} must be true or false, not {raw!r}")
        return super().bool(var, default)

    def int(self, var: str, default: Any = environ.Env.NOTSET) -> Any:
        try:
            return super().int(var, default)
        except ValueError:
            raw = self.ENVIRON.get(var)
            raise ImproperlyConfigured(f"{var} must be a whole number, not {raw!r}") from None

    def secret(self, var: str, default: str = "") -> str:
        """A key or password exactly as given. django-environ would read one that starts
        with "$" as the name of another variable, and a random key may well start so."""
        return cast(str, self.ENVIRON.get(var, default))


env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR", str(BASE_DIR / "var")))

ENVIRONMENT = env.str("ENVIRONMENT", "development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured("ENVIRONMENT must be development, test or production")

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
SECRET_KEY = env.secret("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Earlier keys, newest first, still accepted for staff sessions and password reset links
# while a new SECRET_KEY rolls out (docs/operations.md). Patient links are not: they die.
_fallbacks = env.secret("SECRET_KEY_FALLBACKS").split(",")
SECRET_KEY_FALLBACKS = [key.strip() for key in _fallbacks if key.strip()]
DEBUG = env.bool("DEBUG", ENVIRONMENT == "development")

if ENVIRONMENT == "production":
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set SECRET_KEY to a long random value in production")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production")

# The port the development server listens on (`make run` hands it to honcho, which gives it
# to the Procfile's web process); the base of emailed links follows it unless SITE_URL is set.
PORT = env.int("PORT", 8000)
SITE_URL = env.str("SITE_URL", f"http://localhost:{PORT}").rstrip("/")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", cast=str.strip, default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "csp",
    "clinic",
    "patients",
    "aftercare",
    "anymail",
    "auditlog",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    # First: load balancers and container probes reach /healthz and /readyz by address
    # over plain HTTP, before the Host check and the HTTPS redirect.
    "clinic.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, which answers static files (cacheable) before this runs.
    "clinic.middleware.NoStoreMiddleware",
    # Django's, with the patient pages (/p/) on a session cookie of their own.
    "aftercare.portal.session.PatientSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Staff who need a second factor (clinic.two_factor) see only its pages until they enter it.
    "clinic.two_factor.TwoFactorMiddleware",
    "patients.audit.ClientAddressAuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clinic.middleware.ClinicTimezoneMiddleware",
    # django-csp: CONTENT_SECURITY_POLICY below, unless the view sets its own header.
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: answers a locked-out login with its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.staff_clinic",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    | {"CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", 60)}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login protection: django-axes locks a username from one address after repeated failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env.int("LOGIN_LOCKOUT_MINUTES", 30) / 60  # hours
# Locking by username and address together: nobody can lock a colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "clinic.client_ip.client_ip"
AXES_VERBOSE = False
# Second factor (clinic.two_factor): an authenticator app (TOTP) plus single-use recovery
# codes, for superusers, clinic admins and every staff member of a clinic that asks for it.
OTP_TOTP_ISSUER = "Clinic aftercare"
# After each wrong code the next try waits 1, 2, 4, 8... seconds (django-otp's throttling,
# kept per device in the database, so it holds across processes). 0 would turn it off.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin's device pages show neither the secret keys nor the recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Staff sessions end this long after login (patients' sessions follow their link's expiry).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files. In production they have content-hashed names, which
# browsers may cache for a year; that needs `collectstatic` first (the image runs it).
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", ENVIRONMENT == "production")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: all of it from EMAIL_URL, printed to the terminal without one. EMAIL_URL names an
# SMTP server or an email provider (postmark, ses, mailgun, sendgrid, brevo), sent to
# through django-anymail; clinic.env.email_settings lists the forms.
ANYMAIL: dict[str, object] = {}
_email_url = env.str("EMAIL_URL", "")
_email = email_settings(_email_url or "console://")
ANYMAIL |= cast("dict[str, object]", _email.pop("ANYMAIL", {}))
globals().update(_email)
if not _email_url and ENVIRONMENT == "development":
    # `make run`'s terminal shows each email as the patient reads it, link whole, where the
    # console backend's output would go through the worker's masking logs.
    EMAIL_BACKEND = "clinic.terminal_email.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "aftercare@localhost")
# The provider's delivery reports (bounces, complaints) arrive at
# /anymail/<provider>/tracking/ (aftercare.delivery.webhook_urls), which answer 404 until
# EMAIL_WEBHOOK_SECRET ("user:password", put in the webhook address the provider calls)
# is set. Mailgun and SendGrid also sign their reports: give their keys.
if env.secret("EMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env.secret("EMAIL_WEBHOOK_SECRET")
if env.secret("MAILGUN_WEBHOOK_SIGNING_KEY"):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = env.secret("MAILGUN_WEBHOOK_SIGNING_KEY")
if env.secret("SENDGRID_WEBHOOK_VERIFICATION_KEY"):
    ANYMAIL["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] = env.secret(
        "SENDGRID_WEBHOOK_VERIFICATION_KEY"
    )

# Texts: through Twilio when TWILIO_ACCOUNT_SID is set (aftercare.delivery.text_transports),
# printed on the terminal in development without it, and off otherwise (staff are then not
# offered texts). TWILIO_FROM is the sending number in E.164 form, or a Messaging Service
# SID (MG...). TWILIO_API_URL replaces https://api.twilio.com (tests, regional endpoints).
# Twilio signs every webhook with TWILIO_AUTH_TOKEN; SITE_URL must be the address Twilio
# calls, since the signature covers it.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env.secret("TWILIO_AUTH_TOKEN")
TWILIO_FROM = env.str("TWILIO_FROM", "")
TWILIO_API_URL = env.str("TWILIO_API_URL", "").rstrip("/")
TEXT_TIMEOUT_SECONDS = env.int("TEXT_TIMEOUT_SECONDS", 10)
if TWILIO_ACCOUNT_SID:
    if not (TWILIO_AUTH_TOKEN and TWILIO_FROM):
        raise ImproperlyConfigured(
            "TWILIO_ACCOUNT_SID needs TWILIO_AUTH_TOKEN and TWILIO_FROM (a number or MG... SID)"
        )
    TEXT_BACKEND = "twilio"
else:
    TEXT_BACKEND = "terminal" if ENVIRONMENT == "development" else ""

# Celery: Redis when configured, otherwise kombu's filesystem transport, which
# (unlike memory://) is shared between the worker and beat processes.
REDIS_URL = env.str("REDIS_URL", "")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "store_processed": False,
        # kombu's default is ./control, wherever the process happens to start.
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-reminders": {
        "task": "aftercare.tasks.dispatch_due_reminders",
        "schedule": float(env.int("REMINDER_DISPATCH_INTERVAL", 60)),
        # A tick that waited longer than one interval is replaced by the next one.
        "options": {"expires": float(env.int("REMINDER_DISPATCH_INTERVAL", 60))},
    },
}
CELERY_TIMEZONE = "UTC"

# Reminder dispatch (aftercare.delivery.dispatch): the reminder table is the queue.
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", 100)
REMINDER_LEASE_SECONDS = env.int("REMINDER_LEASE_SECONDS", 120)
# A message the mail server keeps refusing (4xx) is retried this long after the first
# refusal, then failed; an unreachable server never fails a message.
REMINDER_RETRY_WINDOW_HOURS = env.int("REMINDER_RETRY_WINDOW_HOURS", 24)
REMINDER_RETRY_BASE_SECONDS = env.int("REMINDER_RETRY_BASE_SECONDS", 60)
REMINDER_RETRY_MAX_SECONDS = env.int("REMINDER_RETRY_MAX_SECONDS", 1800)
PATIENT_LINK_DAYS = env.int("PATIENT_LINK_DAYS", 180)
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private-media")))
CONCERN_PHOTO_MAX_BYTES = env.int("CONCERN_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
CONCERN_PHOTO_MAX_MEGAPIXELS = env.int("CONCERN_PHOTO_MAX_MEGAPIXELS", 40)
MESSAGE_ID_DOMAIN = env.str("MESSAGE_ID_DOMAIN", urlparse(SITE_URL).hostname or "localhost")

# Rate limit on bad patient links, per client address (aftercare.portal.ratelimit).
PATIENT_LINK_FAILURE_LIMIT = env.int("PATIENT_LINK_FAILURE_LIMIT", 20)
PATIENT_LINK_FAILURE_WINDOW_SECONDS = env.int("PATIENT_LINK_FAILURE_WINDOW_SECONDS", 600)
# Reverse proxies in front of the app (0: clients connect directly). With N proxies the
# client's address is the N-th from the right in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0)
# A shared cache makes the rate limit hold across processes: CACHE_URL, else the Redis
# at REDIS_URL (its keys under KEY_PREFIX, apart from the broker's: aftercare.portal.ratelimit).
CACHE_URL = env.str("CACHE_URL", "") or REDIS_URL
CACHES = {
    "default": (
        {
            "BACKEND": "aftercare.portal.ratelimit.SharedRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "aftercare-cache",
            # A Redis that stops answering must not hold requests: see aftercare.portal.ratelimit.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# HTTPS: with an https SITE_URL, plain HTTP is redirected, HSTS is sent and cookies are
# Secure. Behind reverse proxies (TRUSTED_PROXY_COUNT > 0) the proxy's X-Forwarded-Proto
# says whether the client used HTTPS, so the proxy must set (never pass on) that header.
SECURE_HTTPS = env.bool("SECURE_HTTPS", SITE_URL.startswith("https://"))
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", SECURE_HTTPS)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
_site = urlparse(SITE_URL)
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

# Content-Security-Policy (django-csp's middleware) on every page, the Django admin's too,
# and on the health checks (clinic.health): everything the pages load comes from this
# site, no CDN, no inline script or style (tests/clinic/test_security.py checks the
# templates). A view that needs another policy says so with csp.decorators.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# LOG_FORMAT=json: one JSON object per line. Either way tokens and email addresses are
# masked (clinic.logging), and the Celery worker's handlers get the same treatment.
LOG_FORMAT = env.str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "clinic.logging.RedactPatientTokens"}},
    "formatters": {"default": {"()": "clinic.logging.formatter_for", "log_format": LOG_FORMAT}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    # Django's own loggers don't propagate to the root: route them through the
    # redacting handler too, or request lines would carry patient tokens.
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The Twilio SDK logs every request's lines at INFO: only its warnings are wanted.
        "twilio": {"level": "WARNING"},
    },
}
