"""Benchmark: the patient's Today page against a bare "ok" view, both served by gunicorn.

One gunicorn (2 sync workers, the project's settings with bench/bench_urls.py as
the URLconf) serves both pages in the same run, under the same load (wrk, or a
Python client when wrk cannot be had), with the same session cookie:

- baseline: /p/bench-ok/, a view that returns HttpResponse("ok") through the
  project's whole middleware stack (which loads the patient session: 1 query);
- today: /p/<clinic>/today/, the page a patient reaches from the emailed link
  (the cookie comes from opening that link once over HTTP, as a browser would).

The two alternate for --rounds rounds and the round with the median ratio is
reported, so other work on the machine weighs on both alike. Two more runs are
printed for information: the bare view without a cookie, and the Today page of a
plan made after adding 50 guidance items.

Prints requests/s, p50 and p99 for both and ratio = today rate / baseline rate,
plus the SQL statements one Today request runs, measured in-process for a plan
of the shipped guidance and for the long one. Goal: ratio >= 0.5, with at most
4 queries per request, the same for both plans. When the ratio misses (or with
--profile) it times the parts of a Today request in-process and runs cProfile.

    .venv/bin/python bench/patient_page.py [--duration 10] [--connections 16]
        [--rounds 3] [--profile] [--keep-db] [--tiny]

--tiny is a smoke run (tests/bench/test_benchmarks_run.py): 1 s per page, 1 round,
2 connections, a 1 s warm-up, wrk only if already installed, and no profile when the
ratio misses: it proves the benchmark still runs, its figures mean little.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from _setup import ROOT, bench_database, summary

DATABASE = "aftercare_bench_page"
SETTINGS_MODULE = "bench.bench_settings"
BARE_PATH = "/p/bench-ok/"
GOAL_RATIO = 0.5
MAX_QUERIES = 4
EXTRA_ITEMS = 50
WORKERS = 2
WARMUP_SECONDS = 3
PROFILE_REQUESTS = 500
EXTRA_KINDS = ("expect", "do", "avoid", "product")


@dataclass
class Subject:
    """One patient's plan and the paths that show it."""

    name: str
    slug: str
    link_id: int
    open_path: str
    today_path: str
    items: int
    content_bytes: int
    marker: str  # text the page must contain, so a wrong page is never timed
    queries: list[int] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)  # as run, parameters inlined
    page_bytes: int = 0


@dataclass
class Load:
    name: str
    tool: str
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    bad_status: int

    def describe(self) -> str:
        text = f"{self.rate:8.0f} req/s   p50 {self.p50_ms:7.2f} ms   p99 {self.p99_ms:7.2f} ms"
        if self.errors or self.bad_status:
            text += f"   ({self.errors} socket errors, {self.bad_status} non-2xx/3xx)"
        return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page (10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare/today pairs of runs, alternated (3)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the Today view in-process even when the goal is met",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument(
        "--tiny", action="store_true", help="a smoke run of a few seconds (figures mean little)"
    )
    args = parser.parse_args()
    if args.tiny:
        args.duration, args.connections, args.rounds = 1, 2, 1
    if min(args.duration, args.connections, args.rounds) < 1:
        parser.error("--duration, --connections and --rounds must be at least 1")

    # WhiteNoise warns about the missing collectstatic folder; the pages need none of it.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    # Links are HMACs of SECRET_KEY: this process issues them, gunicorn checks
    # them, so both must read the same key from the environment.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["ENVIRONMENT"] = "development"
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE

    with bench_database(DATABASE, keep=args.keep_db):
        return run(args)


def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    subjects = create_subjects()
    for subject in subjects:
        measure_queries(subject)
    bare_queries = bare_view_queries(subjects[0])
    for subject in subjects:
        print(
            f"queries per Today request, {subject.name} plan ({subject.items} items, "
            f"{subject.content_bytes:,} bytes of JSON, page {subject.page_bytes:,} bytes): "
            f"{subject.queries}"
        )
    print("  statements of one Today request:")
    for statement in subjects[0].statements:
        print(f"    {shorten(statement)}")
    print(
        f"queries per bare-view request: {bare_queries[0]} with the session cookie, "
        f"{bare_queries[1]} without"
    )

    counts = {count for subject in subjects for count in subject.queries}
    if max(counts) > MAX_QUERIES:
        problems.append(f"up to {max(counts)} queries per Today request (goal <= {MAX_QUERIES})")
    # The first request of a process also reads the plan's JSON (then cached): compare
    # request by request, so only a count that grows with the plan fails.
    if len({tuple(subject.queries) for subject in subjects}) != 1:
        sequences = [subject.queries for subject in subjects]
        problems.append(f"query count depends on the plan: {sequences}")

    tool = load_tool(install=not args.tiny)
    server = Gunicorn(env=server_env())
    rounds: list[tuple[Load, Load]] = []
    extra: list[Load] = []
    try:
        server.start()
        print(f"gunicorn: {WORKERS} workers on 127.0.0.1:{server.port}; load: {tool}")
        cookies = {subject.name: session_cookie(server.port, subject) for subject in subjects}
        shipped, long = subjects
        bare_run = ("bare", BARE_PATH, cookies[shipped.name])
        today_run = ("today", shipped.today_path, cookies[shipped.name])
        extra_runs = [
            ("bare, no cookie", BARE_PATH, None),
            ("today, long plan", long.today_path, cookies[long.name]),
        ]

        def load(name: str, path: str, cookie: str | None, seconds: int) -> Load:
            return run_load(tool, server.port, path, cookie, seconds, args.connections, name)

        for run_args in (bare_run, today_run, *extra_runs):
            load(*run_args, 1 if args.tiny else WARMUP_SECONDS)
        # Alternate the two pages, so that whatever else the machine does weighs on
        # both alike; the round with the median ratio is reported.
        for number in range(1, args.rounds + 1):
            bare, today = load(*bare_run, args.duration), load(*today_run, args.duration)
            rounds.append((bare, today))
            print(f"  round {number}: bare  {bare.describe()}")
            print(f"           today {today.describe()}   ratio {ratio_of(bare, today):.2f}")
        for run_args in extra_runs:
            extra.append(load(*run_args, args.duration))
            print(f"  {extra[-1].name:<17}{extra[-1].describe()}")
    finally:
        server.stop()

    for result in [each for pair in rounds for each in pair] + extra:
        if result.bad_status or not result.requests:
            problems.append(
                f"{result.name}: {result.requests} requests, "
                f"{result.bad_status} non-2xx/3xx responses"
            )

    ratios = sorted(ratio_of(bare, today) for bare, today in rounds)
    bare, today = sorted(rounds, key=lambda pair: ratio_of(*pair))[len(rounds) // 2]
    ratio = ratio_of(bare, today)
    goal_met = ratio >= GOAL_RATIO and not problems
    summary(
        "bench/patient_page.py",
        [
            ("server", f"gunicorn, {WORKERS} sync workers, DEBUG off, database sessions"),
            (
                "load",
                f"{tool}, {args.connections} connections, {args.duration}s per page, "
                f"{args.rounds} rounds (the median one shown)",
            ),
            ("bare /p/bench-ok/", bare.describe()),
            ("today", today.describe()),
            (
                "ratio",
                f"{ratio:.2f} (today rate / bare rate), goal >= {GOAL_RATIO}; "
                f"all rounds: {', '.join(f'{value:.2f}' for value in ratios)}",
            ),
            *(
                (
                    f"queries, {subject.name} plan",
                    f"{subject.queries} per request ({subject.items} plan items)",
                )
                for subject in subjects
            ),
            *((result.name, f"{result.describe()}  (information)") for result in extra),
            ("goal", "met" if goal_met else "NOT met"),
            ("checks", "; ".join(problems) if problems else "all pages 200, queries constant"),
        ],
    )
    if (ratio < GOAL_RATIO and not args.tiny) or args.profile:
        profile_today(subjects)
    return 1 if problems else 0


# --- data -------------------------------------------------------------------


def create_subjects() -> list[Subject]:
    """A plan of the shipped guidance, then one made after adding EXTRA_ITEMS items."""
    from django.db import transaction

    from aftercare.models import GuidanceItem
    from tests.factories import ClinicFactory, UserFactory

    with transaction.atomic():
        clinic = ClinicFactory(name="Bench Skin Clinic", slug="bench-skin")
        practitioner = UserFactory()
    shipped = create_subject("shipped", clinic, practitioner)
    GuidanceItem.objects.bulk_create(
        GuidanceItem(
            clinic=clinic,
            key=f"bench-extra-{n}",
            kind=EXTRA_KINDS[n % len(EXTRA_KINDS)],
            title=f"Bench extra item {n}",
            body=(
                f"Keep the treated skin **clean** and *calm* (extra advice {n}). "
                "Wash with lukewarm water, pat dry with a fresh towel and do not rub.\n\n"
                "- a gentle, fragrance-free cleanser\n"
                "- a plain moisturiser\n"
                "- [call us](tel:+442079460123) if anything worries you"
            ),
            starts_after_hours=0,
            ends_after_hours=None,
            order=1000 + n,
        )
        for n in range(EXTRA_ITEMS)
    )
    long = create_subject("long", clinic, practitioner, marker="Bench extra item 49")
    return [shipped, long]


def create_subject(name: str, clinic, practitioner, marker: str = "") -> Subject:
    from django.urls import reverse
    from django.utils import timezone

    from aftercare.plans.services import plan_create
    from aftercare.portal.links import link_issue, token_for
    from tests.factories import PatientFactory, TreatmentFactory

    now = timezone.now()
    treatment = TreatmentFactory(
        patient=PatientFactory(clinic=clinic),
        clinic=clinic,
        practitioner=practitioner,
        performed_at=now - timedelta(hours=1),
    )
    plan = plan_create(treatment=treatment, now=now)
    link = link_issue(plan=plan)
    return Subject(
        name=name,
        slug=clinic.slug,
        link_id=link.pk,
        open_path=reverse("patient:open", args=[clinic.slug, token_for(link)]),
        today_path=reverse("patient:today", args=[clinic.slug]),
        items=len(plan.content["items"]),
        content_bytes=len(json.dumps(plan.content)),
        marker=marker or "of your recovery",
    )


# --- queries per request, in-process -----------------------------------------


def patient_client(subject: Subject):
    """A test client holding the session that opening the emailed link gives."""
    from django.test import Client

    client = Client()
    response = client.get(subject.open_path)
    if response.status_code != 302 or not response["Location"].endswith(subject.today_path):
        raise RuntimeError(f"opening the link gave {response.status_code}, not a redirect")
    return client


def measure_queries(subject: Subject) -> None:
    """Queries of the first Today request of this process (plan not parsed yet) and two more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = patient_client(subject)
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(subject.today_path)
        check_page(subject, response.status_code, response.content)
        subject.queries.append(len(captured.captured_queries))
    subject.statements = [query["sql"] for query in captured.captured_queries]
    subject.page_bytes = len(response.content)


def bare_view_queries(subject: Subject) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = []
    for client in (patient_client(subject), Client()):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(BARE_PATH)
        if response.status_code != 200:
            raise RuntimeError(f"{BARE_PATH} answered {response.status_code}")
        counts.append(len(captured.captured_queries))
    return counts[0], counts[1]


def check_page(subject: Subject, status: int, body: bytes) -> None:
    if status != 200 or subject.marker.encode() not in body:
        raise RuntimeError(
            f"{subject.today_path} ({subject.name} plan) answered {status} "
            f"without {subject.marker!r}"
        )


def shorten(sql: str, width: int = 150) -> str:
    sql = re.sub(r"SELECT .*? FROM", "SELECT ... FROM", sql, count=1)
    return sql if len(sql) <= width else sql[: width - 3] + "..."


# --- the server ---------------------------------------------------------------


def server_env() -> dict[str, str]:
    # The same DATABASE_URL, SECRET_KEY, DEBUG=false and settings module as this process.
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ENVIRONMENT="development",
        DEBUG="false",
    )
    return env


def ratio_of(bare: Load, today: Load) -> float:
    return today.rate / bare.rate if bare.rate else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(Path(sys.prefix) / "bin" / "gunicorn"),
                "clinic.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            try:
                status, _, _ = http_get(self.port, BARE_PATH)
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                return
            raise RuntimeError(f"{BARE_PATH} answered {status}:\n{self.output()}")
        raise RuntimeError(f"gunicorn did not answer within 30 s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: graceful shutdown of master and workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def http_get(
    port: int, path: str, cookie: str | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def session_cookie(port: int, subject: Subject) -> str:
    """Open the emailed link once over HTTP, without following the redirect, as a browser."""
    from aftercare.portal.session import PATIENT_COOKIE_NAME

    status, headers, _ = http_get(port, subject.open_path)
    if status != 302 or not headers.get("Location", "").endswith(subject.today_path):
        raise RuntimeError(f"the link answered {status}, Location {headers.get('Location')!r}")
    jar = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    if PATIENT_COOKIE_NAME not in jar:
        raise RuntimeError(f"opening the link set no {PATIENT_COOKIE_NAME} cookie")
    cookie = f"{PATIENT_COOKIE_NAME}={jar[PATIENT_COOKIE_NAME].value}"
    status, _, body = http_get(port, subject.today_path, cookie)
    check_page(subject, status, body)
    return cookie


# --- load ---------------------------------------------------------------------


def load_tool(*, install: bool = True) -> str:
    """wrk (installed from Debian if missing, we are root and `install`), else a Python client."""
    if shutil.which("wrk"):
        return "wrk"
    if install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"]):
            subprocess.run(command, env=env, capture_output=True, check=False)
            if shutil.which("wrk"):
                return "wrk"
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True, check=False
        )
        if shutil.which("wrk"):
            return "wrk"
    print("wrk is not available: using the Python load generator")
    return "python"


def run_load(
    tool: str, port: int, path: str, cookie: str | None, seconds: int, connections: int, name: str
) -> Load:
    if tool == "wrk":
        result = wrk(port, path, cookie, seconds, connections, name)
    else:
        result = python_load(port, path, cookie, seconds, connections, name)
    settle(port)
    return result


def settle(port: int, timeout: float = 30.0) -> None:
    """Wait until gunicorn has worked off the requests the load generator left behind.

    When wrk stops, up to --connections requests are still queued in the sync
    workers' backlog; the next run would otherwise start by waiting for them (a
    1 s run of the bare view after the long plan's page then shows ~20 req/s).
    A bare request is answered at once only when nothing is queued before it.
    """
    deadline = time.monotonic() + timeout
    fast = 0
    while fast < 3 and time.monotonic() < deadline:
        started = time.perf_counter()
        http_get(port, BARE_PATH)
        fast = fast + 1 if time.perf_counter() - started < 0.02 else 0


def wrk(
    port: int, path: str, cookie: str | None, seconds: int, connections: int, name: str
) -> Load:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout, name)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str, name: str) -> Load:
    def number(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            if default is None:
                raise RuntimeError(f"cannot read {pattern!r} in wrk's output:\n{output}")
            return default
        return match.group(1)

    def latency(percent: int) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {percent}% latency in wrk's output:\n{output}")
        return float(match.group(1)) * _UNITS_MS[match.group(2)]

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        name=name,
        tool="wrk",
        requests=int(number(r"(\d+) requests in")),
        rate=float(number(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=latency(50),
        p99_ms=latency(99),
        errors=sum(int(count) for count in errors.groups()) if errors else 0,
        bad_status=int(number(r"Non-2xx or 3xx responses: (\d+)", "0")),
    )


def python_load(
    port: int, path: str, cookie: str | None, seconds: int, connections: int, name: str
) -> Load:
    """Threads with keep-alive http.client connections (gunicorn's sync workers close them)."""
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    bad = [0] * connections
    started = time.perf_counter()
    deadline = started + seconds

    def worker(index: int) -> None:
        connection = None
        while time.perf_counter() < deadline:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            begin = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = None
                continue
            latencies[index].append(time.perf_counter() - begin)
            if response.status >= 400:
                bad[index] += 1
            if response.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    everything = sorted(value for values in latencies for value in values)
    if not everything:
        return Load(name, "python", 0, 0.0, 0.0, 0.0, sum(errors), sum(bad))
    return Load(
        name=name,
        tool="python",
        requests=len(everything),
        rate=len(everything) / elapsed,
        p50_ms=everything[len(everything) // 2] * 1000,
        p99_ms=everything[min(len(everything) - 1, int(len(everything) * 0.99))] * 1000,
        errors=sum(errors),
        bad_status=sum(bad),
    )


# --- where the Today page's time goes, in-process --------------------------------


def profile_today(subjects: list[Subject]) -> None:
    """Time each part of a Today request on its own, then cProfile PROFILE_REQUESTS requests.

    The parts are timed without the profiler (which inflates Python-heavy code);
    the cProfile listing says which functions inside them cost the most.
    """
    print("\n== where a Today request's time goes (in-process, median per call, no profiler) ==")
    for subject in subjects:
        print(f"-- {subject.name} plan ({subject.items} items) --")
        for label, micros in part_timings(subject):
            print(f"  {label:<62} {micros:9.0f} us")

    subject = subjects[0]
    client = patient_client(subject)
    client.get(subject.today_path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_REQUESTS):
        client.get(subject.today_path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)
    print(
        f"\n== cProfile: {PROFILE_REQUESTS} Today requests, shipped plan, test client "
        f"({total / PROFILE_REQUESTS * 1e6:.0f} us each under the profiler) =="
    )
    for label, filename, function in (
        ("session load", "sessions/backends/db.py", "load"),
        ("link query (patient_page's QuerySet.first)", "db/models/query.py", "first"),
        ("stored_plan (plan cache)", "aftercare/plans/plan_cache.py", "stored_plan"),
        ("django.shortcuts.render (template + markdown)", "django/shortcuts.py", "render"),
        (
            "render_markdown (markdown-it + nh3)",
            "aftercare/guidance/markdown.py",
            "render_markdown",
        ),
        ("  markdown-it render", "markdown_it/main.py", "render"),
        ("  nh3.clean", "~", "nh3.clean>"),
        ("JSONField from_db_value (plan JSON decode)", "fields/json.py", "from_db_value"),
    ):
        seconds = cumulative(stats, filename, function)
        print(
            f"  {label:<48} {seconds / PROFILE_REQUESTS * 1e6:8.0f} us/request "
            f"({seconds / total:5.1%})"
        )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print("\n-- top 25 by own time --")
    print(out.getvalue())


def cumulative(stats: pstats.Stats, filename: str, function: str) -> float:
    seconds = 0.0
    for (file, _, name), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if file == "~" and filename == "~":
            matched = name.endswith(function)
        else:
            matched = name == function and file.replace("\\", "/").endswith(filename)
        if matched:
            seconds += cum
    return seconds


def part_timings(subject: Subject) -> list[tuple[str, float]]:
    import psycopg
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.template.loader import render_to_string
    from django.utils import timezone

    from aftercare.guidance.markdown import render_markdown
    from aftercare.models import PatientLink
    from aftercare.planner.planning import plan_from_dict
    from aftercare.plans import plan_cache
    from aftercare.portal.session import PATIENT_COOKIE_NAME
    from aftercare.templatetags import aftercare as aftercare_tags

    client = patient_client(subject)
    session_key = client.cookies[PATIENT_COOKIE_NAME].value

    def link_queryset(*, patient: bool = True, content: bool = True):
        # patient_page's query (aftercare/portal/views.py), and variants of it.
        related = ["plan__treatment__clinic"] + (["plan__treatment__patient"] if patient else [])
        query = PatientLink.objects.select_related(*related).filter(
            pk=subject.link_id,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            plan__treatment__clinic__slug=subject.slug,
        )
        return query if content else query.defer("plan__content")

    def link_query(**variant: bool) -> PatientLink:
        return link_queryset(**variant).first()

    def first_query():
        # What first() runs: the queryset in its ordering (or by pk), one row.
        query = link_queryset()
        return (query if query.ordered else query.order_by("pk"))[:1].query

    def compile_only() -> object:
        return first_query().get_compiler("default").as_sql()

    sql, params = first_query().sql_with_params()
    # The link lookup exactly as the Today request ran it (parameters inlined).
    today_sql = next(
        (statement for statement in subject.statements if "aftercare_patientlink" in statement),
        None,
    )
    cursor = connection.cursor()

    def raw(statement: str, arguments: object = None) -> Callable[[], object]:
        def execute() -> object:
            cursor.execute(statement, arguments)
            return cursor.fetchall()

        return execute

    # psycopg prepares a statement on the server (so PostgreSQL plans it once per
    # connection) only with server-side binding; Django's default is client-side.
    prepared_connection = psycopg.connect(
        os.environ["DATABASE_URL"], prepare_threshold=0, autocommit=True
    )
    prepared_cursor = prepared_connection.cursor()

    def prepared() -> object:
        prepared_cursor.execute(sql, params)
        return prepared_cursor.fetchall()

    link = link_query()
    template, ctx, request = view_render_call(client, subject)
    texts = [item.body_md for _, items in ctx["today_groups"] for item in items]
    if ctx.get("phase") is not None:
        texts.append(ctx["phase"].summary_md)

    def render_markdown_all() -> None:
        for text in texts:
            render_markdown(text)

    memo: dict[str, object] = {}

    def memoised(text: str) -> object:
        if text not in memo:
            memo[text] = render_markdown(text)
        return memo[text]

    def render_memoised() -> None:
        original = aftercare_tags.render_markdown
        aftercare_tags.render_markdown = memoised
        try:
            render_to_string(template, ctx, request)
        finally:
            aftercare_tags.render_markdown = original

    parts: list[tuple[str, Callable[[], object]]] = [
        ("whole request, test client: Today", lambda: client.get(subject.today_path)),
        ("whole request, test client: bare /p/bench-ok/", lambda: client.get(BARE_PATH)),
        ("session load (SessionStore.load, 1 query)", lambda: SessionStore(session_key).load()),
        ("link query (patient_page's, 5 tables, plan JSON decoded)", link_query),
        ("  ORM only: building the queryset and compiling its SQL", compile_only),
        ("  PostgreSQL only: that SQL on a cursor (parse, plan, run, fetch)", raw(sql, params)),
        *(
            [("  PostgreSQL only: the SQL the Today request ran", raw(today_sql))]
            if today_sql
            else []
        ),
        ("  that SQL prepared once (psycopg, server-side binding)", prepared),
        ("  for scale: SELECT 1 on a cursor", raw("SELECT 1")),
        ("  link query without the patient join", lambda: link_query(patient=False)),
        ("  link query with .defer('plan__content')", lambda: link_query(content=False)),
        ("stored_plan, cache hit", lambda: plan_cache.stored_plan(link.plan)),
        ("plan_from_dict (a cache miss)", lambda: plan_from_dict(link.plan.content)),
        (
            "template render incl. markdown (render_to_string)",
            lambda: render_to_string(template, ctx, request),
        ),
        (f"  markdown alone: {len(texts)} texts (markdown-it + nh3)", render_markdown_all),
        ("  template render with markdown memoised", render_memoised),
    ]
    try:
        timings = [(label, mean_micros(function)) for label, function in parts]
        planning = statistics.median(planning_ms(cursor, sql, params) for _ in range(21))
    finally:
        cursor.close()
        prepared_connection.close()
    timings.insert(6, ("    of which PostgreSQL planning (EXPLAIN ANALYZE)", planning * 1000))
    return timings


def view_render_call(client, subject: Subject) -> tuple[str, dict, object]:
    """The template, context and request today() hands to render(), from one real request.

    Captured rather than rebuilt, so this follows the view as it changes.
    """
    from aftercare.portal import views as patient_views

    calls: list[tuple[str, dict, object]] = []
    original = patient_views.render_to_string
    patient_views.rendered_pages.clear()

    def capture(template_name, context=None, request=None, *args, **kwargs):
        calls.append((template_name, dict(context or {}), request))
        return original(template_name, context, request, *args, **kwargs)

    patient_views.render_to_string = capture
    try:
        response = client.get(subject.today_path)
    finally:
        patient_views.render_to_string = original
    check_page(subject, response.status_code, response.content)
    return calls[-1]


def planning_ms(cursor, sql: str, params: object) -> float:
    cursor.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params)
    for (line,) in cursor.fetchall():
        if line.startswith("Planning Time:"):
            return float(line.split()[2])
    raise RuntimeError("EXPLAIN gave no planning time")


def mean_micros(function: Callable[[], object], budget: float = 1.0) -> float:
    """Median over 5 batches of the time per call; about `budget` seconds in all."""
    for _ in range(3):
        function()
    started = time.perf_counter()
    function()
    once = max(time.perf_counter() - started, 1e-6)
    per_batch = max(1, min(PROFILE_REQUESTS // 5, int(budget / 5 / once)))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(per_batch):
            function()
        samples.append((time.perf_counter() - started) / per_batch)
    return statistics.median(samples) * 1e6


if __name__ == "__main__":
    sys.exit(main())
