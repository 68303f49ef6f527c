"""Production settings: `check --deploy` is clean, HTTPS follows SITE_URL, and static files
are served by WhiteNoise under content-hashed names.

Settings are read at import, so the settings cases run Django in a fresh process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import RequestFactory
from whitenoise.middleware import WhiteNoiseMiddleware

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SECRET_KEY", "DEBUG", "SITE_URL", "ALLOWED_HOSTS"))
        # tests/conftest.py sets it for Playwright; a deployment must not.
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        ENVIRONMENT="production",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        SITE_URL="https://aftercare.example",
        ALLOWED_HOSTS="aftercare.example",
        TRUSTED_PROXY_COUNT="1",
        LOG_FORMAT="json",
    )
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _settings_in(env: dict[str, str], *names: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_reports_nothing_with_production_variables():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_an_https_site_url_turns_on_https_everywhere():
    found = _settings_in(
        _production_env(),
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    )
    assert found == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    }


def test_csrf_trusted_origins_come_from_site_url():
    env = _production_env(SITE_URL="https://aftercare.example:8443/")
    found = _settings_in(env, "CSRF_TRUSTED_ORIGINS")
    assert found == {"CSRF_TRUSTED_ORIGINS": ["https://aftercare.example:8443"]}


def test_behind_a_proxy_its_forwarded_proto_header_is_trusted():
    found = _settings_in(_production_env(), "SECURE_PROXY_SSL_HEADER")
    assert found == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_without_a_proxy_no_forwarded_header_is_trusted():
    found = _settings_in(_production_env(TRUSTED_PROXY_COUNT="0"), "SECURE_PROXY_SSL_HEADER")
    assert found == {"SECURE_PROXY_SSL_HEADER": None}


def test_a_plain_http_site_url_does_not_redirect_to_https():
    # `docker compose up` on a laptop: http://localhost:8000 must keep working.
    env = _production_env(SITE_URL="http://localhost:8000", ALLOWED_HOSTS="localhost")
    found = _settings_in(env, "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE")
    assert found == {"SECURE_SSL_REDIRECT": False, "SESSION_COOKIE_SECURE": False}


def test_production_stores_static_files_under_hashed_names():
    found = _settings_in(_production_env(), "STORAGES")
    assert found["STORAGES"]["staticfiles"]["BACKEND"] == MANIFEST_STORAGE


def test_an_unknown_log_format_is_refused():
    result = _run(["-c", "import django; django.setup()"], _production_env(LOG_FORMAT="xml"))
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json" in result.stderr


@pytest.fixture
def collected_static(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return tmp_path


def test_the_production_storage_serves_a_hashed_file_for_a_year(collected_static, settings):
    url = static("css/staff.css")
    assert url != "/static/css/staff.css"
    assert url.startswith("/static/css/staff.") and url.endswith(".css")
    middleware = WhiteNoiseMiddleware(lambda request: None)
    response = middleware(RequestFactory().get(url))
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"]


def test_the_production_storage_serves_compressed_files(collected_static):
    middleware = WhiteNoiseMiddleware(lambda request: None)
    url = static("vendor/bootstrap/bootstrap.min.css")
    request = RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert middleware(request)["Content-Encoding"] == "gzip"
