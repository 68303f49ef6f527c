"""docker-compose.yml, the Dockerfile and gunicorn.conf.py, checked by reading them (no
Docker engine runs here): the services, healthchecks and volumes the stack needs, and
environment variables that the settings actually read."""

from __future__ import annotations

import ast
import re
from importlib import import_module
from pathlib import Path

import pytest
import yaml

from clinic.access_log import AccessLogger

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"web", "worker", "beat"}
REQUIRED_VARIABLES = {
    "ENVIRONMENT",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "PRIVATE_MEDIA_ROOT",
}
ENV_READERS = {"env_str", "env_bool", "env_int", "env_list"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_variables() -> set[str]:
    """Every variable clinic/settings.py reads through the clinic.env readers."""
    tree = ast.parse((ROOT / "clinic" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ENV_READERS
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_it_runs_the_whole_stack(compose):
    assert set(compose["services"]) == {"postgres", "redis", "mailpit", "web", "worker", "beat"}


def test_every_service_has_a_healthcheck(compose):
    missing = [
        name for name, service in compose["services"].items() if "healthcheck" not in service
    ]
    assert missing == []


def test_every_service_restarts_after_a_crash(compose):
    policies = {name: service.get("restart") for name, service in compose["services"].items()}
    assert policies == dict.fromkeys(compose["services"], "unless-stopped")


def test_the_app_waits_for_healthy_postgres_and_redis(compose):
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_the_web_service_migrates_then_runs_gunicorn(compose):
    command = _command(compose["services"]["web"])
    # migrate_locked: several web containers starting together take turns.
    migrate_then_serve = r"manage\.py migrate_locked &&.*exec gunicorn clinic\.wsgi:application"
    assert re.search(migrate_then_serve, command)
    assert "--config gunicorn.conf.py" in command


def test_the_web_healthcheck_calls_healthz(compose):
    # Liveness, which does not depend on the broker (see clinic/health.py).
    test = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    assert "/healthz" in test and "/readyz" not in test


def test_the_worker_healthcheck_pings_the_worker_through_the_broker(compose):
    test = compose["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert re.match(r"celery -A clinic inspect ping --destination celery@\$\$HOSTNAME\b", test[1])


def test_the_worker_and_beat_run_celery(compose):
    assert _command(compose["services"]["worker"]).startswith("celery -A clinic worker")
    assert _command(compose["services"]["beat"]).startswith("celery -A clinic beat")


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    used = {
        mount.split(":", 1)[0]
        for service in compose["services"].values()
        for mount in service.get("volumes", [])
    }
    assert used == declared
    assert {"postgres-data", "private-media", "beat-data", "mailpit-data"} <= declared
    assert "postgres-data:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_web_and_worker_share_the_private_media(compose):
    for name in ["web", "worker"]:
        assert "private-media:/app/var/private-media" in compose["services"][name]["volumes"]


def test_the_app_services_pass_the_variables_the_settings_need(compose):
    for name in APP_SERVICES:
        passed = set(compose["services"][name]["environment"])
        assert passed >= REQUIRED_VARIABLES, (name, REQUIRED_VARIABLES - passed)


def test_every_variable_passed_to_the_app_is_one_the_settings_read(compose):
    read = _settings_variables()
    for name in APP_SERVICES:
        unread = set(compose["services"][name]["environment"]) - read
        assert unread == set(), (name, unread)


def test_the_settings_reader_finds_the_variables():
    assert {"SECRET_KEY", "DATABASE_URL", "LOG_FORMAT", "SITE_URL"} <= _settings_variables()


def test_the_app_runs_in_production_mode_with_json_logs(compose):
    environment = compose["services"]["web"]["environment"]
    assert environment["ENVIRONMENT"] == "production"
    assert environment["DEBUG"] == "false"
    assert environment["LOG_FORMAT"] == "json"


def test_compose_refuses_to_start_without_a_secret_key(compose):
    assert ":?" in compose["services"]["web"]["environment"]["SECRET_KEY"]


def test_the_app_image_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}


def test_the_app_image_collects_static_files_with_production_settings():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"ENVIRONMENT=production[^\n]*\\\n[^\n]*\n[^\n]*collectstatic", dockerfile)


def test_gunicorn_logs_through_the_redacting_access_logger():
    tree = ast.parse((ROOT / "gunicorn.conf.py").read_text())
    config = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
    }
    module, _, name = config["logger_class"].rpartition(".")
    assert getattr(import_module(module), name) is AccessLogger
