"""/healthz and /readyz (clinic.health)."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

from clinic import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}


@pytest.fixture
def database_down(monkeypatch):
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)


@pytest.fixture
def fresh_readiness(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_healthz_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_healthz_stays_200_while_the_broker_is_down(client, broker_down):
    # Pages keep working without the broker: a liveness probe that failed here would
    # have the orchestrator restart healthy web containers during a broker outage.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_healthz_is_503_and_names_the_database_when_it_is_down(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": "unreachable"}}


def test_a_failing_check_says_nothing_about_the_error(client, database_down):
    body = client.get("/healthz").content.decode() + client.get("/readyz").content.decode()
    assert "refused" not in body and "OperationalError" not in body


def test_readyz_says_ok_when_migrations_are_applied(client, fresh_readiness):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_readyz_is_503_while_migrations_are_pending(client, fresh_readiness, monkeypatch):
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("a migration", False)]
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending"


def test_readyz_is_503_when_the_database_is_down(client, fresh_readiness, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


def test_readyz_stays_200_while_the_broker_is_down(client, fresh_readiness, broker_down):
    # Taking every web process out of the load balancer would turn late reminders
    # into a site that is down: readiness does not depend on the broker either.
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_readyz_reads_the_migration_graph_only_until_it_is_ready(client, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", True)
    monkeypatch.setattr(MigrationExecutor, "__init__", lambda *args, **kwargs: 1 / 0)
    assert client.get("/readyz").status_code == 200


def test_health_answers_are_never_cached(client):
    for path in ["/healthz", "/readyz"]:
        assert client.get(path)["Cache-Control"] == "no-store"


def test_health_needs_no_login(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_health_answers_a_probe_by_ip_address_over_plain_http(client, settings):
    # A load balancer or container probe: a Host that is not in ALLOWED_HOSTS, plain HTTP,
    # while the site itself redirects to HTTPS.
    settings.ALLOWED_HOSTS = ["aftercare.example"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/patients/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_the_health_paths_are_named_urls():
    from django.urls import reverse

    assert (reverse("healthz"), reverse("readyz")) == ("/healthz", "/readyz")
