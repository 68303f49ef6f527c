"""docker-compose.yml as Docker Compose reads it: how the services are wired together and
the settings the app services start with.

With a Docker engine here (`docker compose version` and `docker info` succeed) Compose itself
reads the file (`docker compose config`). Without one, PyYAML reads it and `_read_with_pyyaml`
does what `docker compose config` does before printing: interpolate ${...} and spell the
short forms out, so that the same checks run either way; CI has no Docker engine, and under
CI=true nothing may skip. The app services' settings are loaded in a fresh process with the
environment Compose gives them. The Dockerfile and gunicorn.conf.py come last.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import os
import re
import shlex
import subprocess
import sys
from importlib import import_module
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import resolve

from clinic.access_log import AccessLogger
from clinic.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
# The servers the app cannot work without: it waits for them to be healthy.
NEEDED_SERVERS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
# Compose refuses to start without one (${SECRET_KEY:?...}); any long value will do here.
SECRET_KEY = "compose-test-secret-key-" + "x" * 40
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME, and $$
# (a literal $, which `docker compose config` prints as $$ and the container sees as $).
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


class ComposeRefused(Exception):
    """What `docker compose config` refuses, found while reading the file with PyYAML."""


# Reading the file: Docker Compose when there is an engine, PyYAML otherwise


@functools.cache
def _docker_problem() -> str | None:
    """Why Docker Compose cannot read the file here, or None when it can."""
    for command in (["docker", "compose", "version"], ["docker", "info"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"`{shlex.join(command)}`: {error}"
        if done.returncode != 0:
            said = done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}"
            return f"`{shlex.join(command)}`: {said.splitlines()[0]}"
    return None


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _variables_in_the_file() -> set[str]:
    return {
        match["braced"] or match["bare"]
        for match in INTERPOLATION.finditer(COMPOSE_FILE.read_text())
        if not match["escaped"]
    }


def _docker_compose(*args: str, variables: dict[str, str]) -> subprocess.CompletedProcess:
    """`docker compose <args>` with `variables` as the only values for the file's ${...}:
    neither this shell's variables nor a .env file change what the test sees."""
    environment = {k: v for k, v in os.environ.items() if k not in _variables_in_the_file()}
    command = ["docker", "compose", "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE)]
    return subprocess.run(
        [*command, "--env-file", os.devnull, *args],
        env=environment | variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _interpolate(value: object, variables: dict[str, str]) -> object:
    if isinstance(value, dict):
        return {key: _interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match["escaped"]:
            return "$$"
        name, op, arg = match["braced"] or match["bare"], match["op"], match["arg"]
        given = variables.get(name)
        if op is None:
            return given or ""
        if given is not None and not (op.startswith(":") and given == ""):
            return given
        if op.endswith("?"):
            raise ComposeRefused(f"required variable {name} is missing a value: {arg}")
        return arg

    return INTERPOLATION.sub(one, value)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value).lower() if isinstance(value, bool) else str(value)


def _volume_mount(mount: str | dict) -> dict:
    if isinstance(mount, dict):
        return mount
    source, _, rest = mount.partition(":")
    target = rest.split(":")[0]
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return {"type": kind, "source": source, "target": target}


def _port(port: str | int | dict) -> dict:
    if isinstance(port, dict):
        return port
    published, _, target = str(port).rpartition(":")
    return {"target": int(target), "published": published.rpartition(":")[2] or None}


def _long_form(service: dict) -> dict:
    """A service as `docker compose config` prints it: the long form of each entry."""
    service = dict(service)
    if isinstance(service.get("command"), str):
        service["command"] = shlex.split(service["command"])
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    service["environment"] = {name: _text(value) for name, value in environment.items()}
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        depends_on = {name: {"condition": "service_started"} for name in depends_on}
    service["depends_on"] = depends_on
    healthcheck = service.get("healthcheck")
    if healthcheck and isinstance(healthcheck.get("test"), str):
        service["healthcheck"] = healthcheck | {"test": ["CMD-SHELL", healthcheck["test"]]}
    service["volumes"] = [_volume_mount(mount) for mount in service.get("volumes") or []]
    service["ports"] = [_port(port) for port in service.get("ports") or []]
    return service


def _read_with_pyyaml(variables: dict[str, str]) -> dict:
    # safe_load resolves the anchors and the << merge keys the way Compose does.
    loaded = _interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), variables)
    services = {name: _long_form(service) for name, service in loaded["services"].items()}
    return {"services": services, "volumes": loaded.get("volumes") or {}}


@pytest.fixture(scope="module")
def compose() -> dict:
    """The file as Compose reads it, given SECRET_KEY and every other variable's default.
    Like `docker compose config`, a service may lack the keys it does not set."""
    if _docker_problem() is None:
        done = _docker_compose("config", "--format", "json", variables={"SECRET_KEY": SECRET_KEY})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return _read_with_pyyaml({"SECRET_KEY": SECRET_KEY})


# Helpers for commands and healthchecks


def _as_run(text: str) -> str:
    return text.replace("$$", "$")  # what the container's shell or program gets


def _command(service: dict) -> list[str]:
    return [_as_run(part) for part in service["command"]]


def _option(arguments: list[str], *names: str) -> str | None:
    """The value of the first of `names` in `arguments` (`--name value` or `--name=value`)."""
    for index, argument in enumerate(arguments):
        for name in names:
            if argument == name and index + 1 < len(arguments):
                return arguments[index + 1]
            if name.startswith("--") and argument.startswith(name + "="):
                return argument.partition("=")[2]
    return None


def _health_command(service: dict) -> list[str]:
    kind, *rest = service["healthcheck"]["test"]
    rest = [_as_run(part) for part in rest]
    return shlex.split(rest[0]) if kind == "CMD-SHELL" else rest


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", str(duration))
    assert parts, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def _gunicorn(compose: dict) -> list[str]:
    """The web service's gunicorn command line, after its migration step."""
    shell, flag, script = _command(compose["services"]["web"])
    assert (shell, flag) == ("sh", "-c")
    steps = [shlex.split(step) for step in script.split("&&")]
    assert steps[-1][:2] == ["exec", "gunicorn"], script
    return steps[-1][2:]


def _mount_holding(service: dict, path: str) -> dict | None:
    """The volume mount of `service` that `path` lies on."""
    for mount in service.get("volumes", []):
        if PurePosixPath(path).is_relative_to(mount["target"]):
            return mount
    return None


def _app_server_hosts(environment: dict) -> dict[str, str]:
    return {
        name: urlsplit(environment[name]).hostname
        for name in (*NEEDED_SERVERS, "REDIS_URL", "EMAIL_URL")
        if environment.get(name)
    }


# Docker Compose accepts the file


def test_docker_compose_accepts_the_file():
    problem = _docker_problem()
    if problem is None:
        done = _docker_compose("config", "--quiet", variables={"SECRET_KEY": SECRET_KEY})
        assert done.returncode == 0, done.stderr
    elif _under_ci():
        # Nothing may skip under CI: what Compose would refuse, the PyYAML reading refuses.
        assert _read_with_pyyaml({"SECRET_KEY": SECRET_KEY})["services"]
    else:
        pytest.skip(
            f"validating docker-compose.yml needs a Docker engine ({problem}); "
            "the other tests in this file read it with PyYAML"
        )


def test_compose_refuses_to_start_without_a_secret_key():
    if _docker_problem() is None:
        done = _docker_compose("config", "--quiet", variables={})
        assert done.returncode != 0
        assert "SECRET_KEY" in done.stderr
    else:
        with pytest.raises(ComposeRefused, match="SECRET_KEY"):
            _read_with_pyyaml({})


def test_every_service_and_volume_named_in_the_file_exists(compose):
    services = compose["services"]
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        assert set(service.get("depends_on", {})) <= set(services), name
        for mount in service.get("volumes", []):
            assert mount["type"] == "volume", (name, mount)  # nothing kept in the checkout
            assert mount["source"] in compose["volumes"], (name, mount)


# Healthchecks and start order


def test_every_service_has_a_healthcheck_that_runs_a_command(compose):
    for name, service in compose["services"].items():
        healthcheck = service.get("healthcheck") or {}
        assert not healthcheck.get("disable"), name
        assert healthcheck.get("test", [None])[0] in {"CMD", "CMD-SHELL"}, name
        assert _health_command(service), name


def test_every_service_comes_back_after_a_crash(compose):
    for name, service in compose["services"].items():
        assert service.get("restart") in {"always", "unless-stopped"}, name


def test_the_app_waits_for_the_database_broker_and_cache_to_be_healthy(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        for variable in NEEDED_SERVERS:
            host = urlsplit(environment[variable]).hostname
            waits_for = services[name]["depends_on"].get(host, {})
            assert waits_for.get("condition") == "service_healthy", (name, variable, host)
            assert services[host]["healthcheck"]["test"], host


def test_every_server_the_app_talks_to_is_a_service_of_the_stack(compose):
    for name in APP_SERVICES:
        hosts = _app_server_hosts(compose["services"][name]["environment"])
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL"} <= set(hosts), name
        unknown = {var: host for var, host in hosts.items() if host not in compose["services"]}
        assert unknown == {}, name


def test_the_app_logs_in_to_the_database_the_postgres_service_creates(compose):
    postgres = compose["services"]["postgres"]
    created = postgres["environment"]
    ready = _health_command(postgres)
    assert ready[0] == "pg_isready"
    for name in APP_SERVICES:
        url = urlsplit(compose["services"][name]["environment"]["DATABASE_URL"])
        assert url.hostname == "postgres" and (url.port or 5432) == 5432, name
        assert url.username == created["POSTGRES_USER"] == _option(ready, "-U"), name
        assert url.password == created["POSTGRES_PASSWORD"], name
        assert url.path.lstrip("/") == created["POSTGRES_DB"] == _option(ready, "-d"), name


# The app services' commands


def test_the_worker_and_beat_run_the_projects_celery_app(compose):
    for name, subcommand in [("worker", "worker"), ("beat", "beat")]:
        command = _command(compose["services"][name])
        assert command[0] == "celery", name
        assert find_app(_option(command, "-A", "--app")) is celery_app, name
        assert command[3] == subcommand, name


def test_the_worker_healthcheck_pings_this_worker_within_the_healthchecks_timeout(compose):
    worker = compose["services"]["worker"]
    command, ping = _command(worker), _health_command(worker)
    assert ping[:1] == ["celery"] and ping[3:5] == ["inspect", "ping"]
    assert _option(ping, "-A", "--app") == _option(command, "-A", "--app")
    # Celery names a worker celery@%h (%h: the host name) unless told otherwise; in the
    # container $HOSTNAME is that host name.
    node = _option(command, "-n", "--hostname") or "celery@%h"
    assert _option(ping, "-d", "--destination") == node.replace("%h", "$HOSTNAME")
    timeout = float(_option(ping, "-t", "--timeout") or 1)
    assert timeout < _seconds(worker["healthcheck"]["timeout"])


def test_beat_keeps_its_schedule_on_a_volume_that_its_healthcheck_watches(compose):
    beat = compose["services"]["beat"]
    schedule = _option(_command(beat), "-s", "--schedule")
    assert _mount_holding(beat, schedule), schedule  # the schedule outlives the container
    code = _health_command(beat)[-1]
    [pattern] = re.findall(r"glob\.glob\(['\"]([^'\"]+)['\"]\)", code)
    assert fnmatch.fnmatch(schedule, pattern) or fnmatch.fnmatch(schedule + ".db", pattern)


def test_the_web_service_migrates_then_serves_the_wsgi_app_on_its_published_port(compose):
    web = compose["services"]["web"]
    shell_script = _command(web)[2]
    migrate = shlex.split(shell_script.split("&&")[0])
    assert migrate[:2] == ["python", "manage.py"] and migrate[2] in get_commands()
    # migrate_locked: several web containers starting together take turns.
    assert migrate[2] == "migrate_locked"
    gunicorn = _gunicorn(compose)
    module, _, attribute = gunicorn[0].partition(":")
    assert callable(getattr(import_module(module), attribute))
    assert (ROOT / _option(gunicorn, "-c", "--config")).is_file()  # the image's /app
    port = int(_option(gunicorn, "-b", "--bind").rpartition(":")[2])
    assert port in {published["target"] for published in web["ports"]}


@pytest.mark.django_db
def test_the_web_healthcheck_asks_the_liveness_url_of_the_port_gunicorn_serves(compose, client):
    # Liveness, which does not depend on the broker (clinic/health.py): a Redis outage
    # must not restart healthy web containers.
    [url] = re.findall(r"https?://[^'\"\s]+", " ".join(_health_command(compose["services"]["web"])))
    probe = urlsplit(url)
    assert probe.port == int(_option(_gunicorn(compose), "-b", "--bind").rpartition(":")[2])
    assert resolve(probe.path).url_name == "healthz"
    assert client.get(probe.path, HTTP_HOST=probe.netloc).status_code == 200


# What the app services start with


SETTINGS_PROBE = """
import json, os

read = set()
getitem = os._Environ.__getitem__


def recording(self, key):
    read.add(key)
    return getitem(self, key)


# Every way of reading os.environ (get, in, [], getenv, django-environ) goes through here.
os._Environ.__getitem__ = recording
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
import django

django.setup()
from django.conf import settings as s

db = s.DATABASES["default"]
print(json.dumps({
    "read": sorted(read),
    "ENVIRONMENT": s.ENVIRONMENT,
    "DEBUG": s.DEBUG,
    "LOG_FORMAT": s.LOG_FORMAT,
    "database": [db["ENGINE"], db["HOST"], db["NAME"]],
    "broker": s.CELERY_BROKER_URL,
    "cache": s.CACHES["default"].get("LOCATION"),
    "email": [s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT],
    "PRIVATE_MEDIA_ROOT": str(s.PRIVATE_MEDIA_ROOT),
}))
"""


@pytest.fixture(scope="module")
def app_settings(compose) -> dict[str, dict]:
    """Per app service: its settings, loaded in a fresh process with only the environment
    Compose gives it, and the variables that process read."""
    loaded: dict[str, dict] = {}
    by_environment: dict[str, dict] = {}
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        given = {key: value for key, value in environment.items() if value is not None}
        key = json.dumps(given, sort_keys=True)
        if key not in by_environment:
            done = subprocess.run(
                [sys.executable, "-c", SETTINGS_PROBE],
                cwd=ROOT,
                env={"PATH": os.environ["PATH"], **given},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            by_environment[key] = json.loads(done.stdout.splitlines()[-1])
        loaded[name] = by_environment[key]
    return loaded


def test_the_app_starts_in_production_mode_with_json_logs(app_settings):
    for name, loaded in app_settings.items():
        assert (loaded["ENVIRONMENT"], loaded["DEBUG"], loaded["LOG_FORMAT"]) == (
            "production",
            False,
            "json",
        ), name


def test_the_app_reaches_postgres_redis_and_mailpit(app_settings):
    for name, loaded in app_settings.items():
        assert loaded["database"][:2] == ["django.db.backends.postgresql", "postgres"], name
        assert urlsplit(loaded["broker"]).hostname == "redis", name
        assert urlsplit(loaded["cache"]).hostname == "redis", name
        smtp = ["django.core.mail.backends.smtp.EmailBackend", "mailpit", 1025]
        assert loaded["email"] == smtp, name


def test_every_variable_compose_passes_is_one_the_app_reads(compose, app_settings):
    for name, loaded in app_settings.items():
        unread = set(compose["services"][name]["environment"]) - set(loaded["read"])
        assert unread == set(), (name, unread)


def test_web_and_worker_keep_private_media_on_one_shared_volume(compose, app_settings):
    sources = set()
    for name in ("web", "worker"):
        root = app_settings[name]["PRIVATE_MEDIA_ROOT"]
        mount = _mount_holding(compose["services"][name], root)
        assert mount, (name, root)
        sources.add(mount["source"])
    assert len(sources) == 1, sources


def test_the_database_keeps_its_data_on_a_volume(compose):
    postgres = compose["services"]["postgres"]
    data = postgres["environment"].get("PGDATA") or "/var/lib/postgresql/data"
    assert _mount_holding(postgres, data), data


# The image


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
