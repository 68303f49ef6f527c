"""Settings are read at import, so each case runs Django in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LONG_KEY = "k" * 50


def _start_django(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_default_secret_key():
    result = _start_django(ENVIRONMENT="production", DEBUG="false")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _start_django(ENVIRONMENT="production", SECRET_KEY=LONG_KEY, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off():
    result = _start_django(ENVIRONMENT="production", SECRET_KEY=LONG_KEY, DEBUG="false")
    assert result.returncode == 0, result.stderr


def test_development_defaults_to_sqlite_and_filesystem_broker():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def _settings(*names: str, unset: tuple[str, ...] = (), **env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    dropped = {"SECRET_KEY", "DEBUG", *unset, *env}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# Read through django-environ: a value it would misread stops the start, naming the variable


def test_a_yes_no_setting_takes_the_usual_spellings():
    found = _settings(
        "AXES_ENABLED",
        "STATIC_MANIFEST",
        "SECURE_HTTPS",
        AXES_ENABLED="Off",
        STATIC_MANIFEST=" YES ",
        SECURE_HTTPS="1",
    )
    assert found == {"AXES_ENABLED": False, "STATIC_MANIFEST": True, "SECURE_HTTPS": True}


def test_a_yes_no_setting_refuses_a_word_it_cannot_read():
    result = _start_django(STATIC_MANIFEST="maybe")
    assert result.returncode != 0
    assert "ImproperlyConfigured: STATIC_MANIFEST must be true or false, not 'maybe'" in (
        result.stderr
    )


def test_a_number_setting_refuses_text():
    result = _start_django(SESSION_COOKIE_AGE="eight hours")
    assert result.returncode != 0
    assert "SESSION_COOKIE_AGE must be a whole number, not 'eight hours'" in result.stderr


def test_a_list_setting_splits_on_commas_and_drops_blanks():
    found = _settings("ALLOWED_HOSTS", ALLOWED_HOSTS="a.example, b.example,,")
    assert found == {"ALLOWED_HOSTS": ["a.example", "b.example"]}


def test_secrets_are_read_as_given_even_starting_with_a_dollar():
    # django-environ alone would look up a variable named after the rest of the value.
    found = _settings(
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        SECRET_KEY="$" + LONG_KEY,
        SECRET_KEY_FALLBACKS="$old-key, older-key",
    )
    assert found == {
        "SECRET_KEY": "$" + LONG_KEY,
        "SECRET_KEY_FALLBACKS": ["$old-key", "older-key"],
    }


def test_database_url_gives_the_database_and_the_connection_age():
    found = _settings(
        "DATABASES",
        DATABASE_URL="postgres://aftercare:p%40ss@db.example:5433/aftercare?sslmode=require",
        DATABASE_CONN_MAX_AGE="0",
    )
    database = found["DATABASES"]["default"]
    assert {key: database[key] for key in ["ENGINE", "NAME", "USER", "PASSWORD", "HOST"]} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "aftercare",
        "USER": "aftercare",
        "PASSWORD": "p@ss",
        "HOST": "db.example",
    }
    assert (database["PORT"], database["OPTIONS"], database["CONN_MAX_AGE"]) == (
        5433,
        {"sslmode": "require"},
        0,
    )


def test_database_connections_are_kept_a_minute_by_default():
    found = _settings("DATABASES", DATABASE_URL="sqlite:////tmp/aftercare.sqlite3")
    database = found["DATABASES"]["default"]
    assert (database["NAME"], database["CONN_MAX_AGE"]) == ("/tmp/aftercare.sqlite3", 60)


# Email: EMAIL_URL is the one way to configure it


def test_email_url_configures_smtp():
    found = _settings(
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_USE_TLS",
        EMAIL_URL="smtp+tls://user:pass@mail.example:587",
    )
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example",
        "EMAIL_PORT": 587,
        "EMAIL_USE_TLS": True,
    }


def test_without_email_url_emails_are_printed_and_email_host_is_not_read():
    found = _settings(
        "EMAIL_BACKEND", "EMAIL_HOST", EMAIL_URL="", EMAIL_HOST="mail.example", ENVIRONMENT="test"
    )
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "EMAIL_HOST": "localhost",
    }


def test_in_development_without_email_url_the_terminal_shows_each_email_whole():
    found = _settings("EMAIL_BACKEND", EMAIL_URL="", ENVIRONMENT="development")
    assert found == {"EMAIL_BACKEND": "clinic.terminal_email.EmailBackend"}


def test_in_development_an_email_url_is_still_obeyed():
    found = _settings("EMAIL_BACKEND", EMAIL_URL="console://", ENVIRONMENT="development")
    assert found == {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}


# PORT: where `make run` serves; SITE_URL (the base of emailed links) follows it unless set.


def test_site_url_defaults_to_localhost_on_port_8000():
    found = _settings("PORT", "SITE_URL", unset=("PORT", "SITE_URL"))
    assert found == {"PORT": 8000, "SITE_URL": "http://localhost:8000"}


def test_site_url_follows_port():
    found = _settings("SITE_URL", "MESSAGE_ID_DOMAIN", unset=("SITE_URL",), PORT="8123")
    assert found == {"SITE_URL": "http://localhost:8123", "MESSAGE_ID_DOMAIN": "localhost"}


def test_a_site_url_that_is_set_wins_over_port():
    found = _settings("SITE_URL", PORT="8123", SITE_URL="https://aftercare.example/")
    assert found == {"SITE_URL": "https://aftercare.example"}


def test_a_port_that_is_not_a_number_is_refused():
    result = _start_django(PORT="eighty")
    assert result.returncode != 0
    assert "PORT must be a whole number, not 'eighty'" in result.stderr


def test_email_url_with_a_provider_fills_anymail():
    found = _settings("EMAIL_BACKEND", "ANYMAIL", EMAIL_URL="postmark://token@")
    assert found["EMAIL_BACKEND"] == "anymail.backends.postmark.EmailBackend"
    assert found["ANYMAIL"]["POSTMARK_SERVER_TOKEN"] == "token"
