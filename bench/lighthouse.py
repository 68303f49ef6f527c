"""Benchmark: Lighthouse scores of the patient pages (performance and accessibility).

A patient's Today, Timeline and Warning signs pages are served the way production serves
them (gunicorn, ENVIRONMENT=production, DEBUG off, static files collected with hashed
names and compressed, served by WhiteNoise) from a database of the benchmark's own. The
patient was treated an hour ago (the plan with the most on the page) and their emailed
link is opened once over HTTP for the session cookie, which every Lighthouse request
then carries (`--extra-headers`). Lighthouse (npm `lighthouse`, pinned in package.json)
runs each page in Debian's chromium, headless, as a phone (its default mobile form factor
and simulated slow-4G throttling), `--runs` times; the median score of each category
is kept.

Prints, per page, the performance and accessibility scores, the metrics behind the
performance score and every audit that cost points; then `ratio = lowest score / 100`.
Goal: 100 for both categories on every page (ratio 1.00). A missed goal is printed, not
turned into a failure; the run exits 1 only when a page or Lighthouse itself fails.

    .venv/bin/python bench/lighthouse.py [--pages today,timeline,warning-signs]
        [--runs 3] [--keep-db] [--tiny]

--tiny is the smoke run of tests/bench/test_benchmarks_run.py: the Today page only, once.
Needs PostgreSQL (as bench/_setup.py says), `npm ci` (node_modules/.bin/lighthouse) and
chromium (CHROME_PATH, /usr/bin/chromium by default).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from _setup import ROOT, Gunicorn, bench_database, summary

DATABASE = "aftercare_bench_lighthouse"
SETTINGS_MODULE = "bench.lighthouse_settings"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_PATH = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility")
GOAL = 100
RUNS = 3
WORKERS = 2
LIGHTHOUSE_TIMEOUT = 180
ATTEMPTS = 3
# URL name -> text the page must show, so a wrong page (an error, the "link" page) is
# never scored.
PAGES = {
    "today": ("patient:today", "Warning signs"),
    "timeline": ("patient:timeline", "Warning signs"),
    "warning-signs": ("patient:warning_signs", "Call 999 now"),
}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage"


@dataclass
class PageResult:
    name: str
    path: str
    html_bytes: int
    scores: dict[str, list[int]] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    lost: dict[str, set[str]] = field(default_factory=dict)  # category -> audits below 1

    def score(self, category: str) -> int:
        return int(statistics.median(self.scores[category]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages", default=",".join(PAGES), help=f"comma-separated, of {', '.join(PAGES)}"
    )
    parser.add_argument("--runs", type=int, default=RUNS, help=f"Lighthouse runs per page ({RUNS})")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument("--tiny", action="store_true", help="the Today page once (smoke run)")
    args = parser.parse_args()
    pages = ["today"] if args.tiny else [name.strip() for name in args.pages.split(",")]
    unknown = [name for name in pages if name not in PAGES]
    if unknown or not pages:
        parser.error(f"--pages takes {', '.join(PAGES)}; not: {', '.join(unknown)}")
    runs = 1 if args.tiny else args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")
    if not LIGHTHOUSE.exists():
        print(f"{LIGHTHOUSE} not found: run `npm ci` (package.json pins lighthouse)")
        return 2
    if not Path(CHROME_PATH).exists():
        print(f"chromium not found at {CHROME_PATH}: apt-get install chromium, or set CHROME_PATH")
        return 2

    static_root = Path(tempfile.mkdtemp(prefix="bench-lighthouse-static-"))
    # Links are HMACs of SECRET_KEY: this process issues them, gunicorn checks them.
    os.environ.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ENVIRONMENT="production",
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        BENCH_STATIC_ROOT=str(static_root),
        SITE_URL="http://127.0.0.1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    try:
        with bench_database(DATABASE, keep=args.keep_db):
            return run(pages, runs)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


def run(pages: list[str], runs: int) -> int:
    from django.core.management import call_command
    from django.urls import reverse

    call_command("collectstatic", interactive=False, verbosity=0)
    open_path, slug = make_patient()
    server = Gunicorn(env=dict(os.environ), workers=WORKERS, ready_path="/healthz")
    results: list[PageResult] = []
    problems: list[str] = []
    try:
        server.start()
        cookie = session_cookie(server.port, open_path)
        for name in pages:
            url_name, marker = PAGES[name]
            path = reverse(url_name, args=[slug])
            status, body = http_get(server.port, path, cookie)
            if status != 200 or marker.encode() not in body:
                problems.append(f"{path} answered {status} without {marker!r}")
                continue
            result = PageResult(name=name, path=path, html_bytes=len(body))
            for number in range(1, runs + 1):
                report = lighthouse(f"http://127.0.0.1:{server.port}{path}", cookie)
                check_document(report, len(body))
                record(result, report)
                scores = ", ".join(f"{c} {result.scores[c][-1]}" for c in CATEGORIES)
                print(f"  {name} run {number}: {scores}")
            results.append(result)
    finally:
        server.stop()

    lowest = min(
        (result.score(category) for result in results for category in CATEGORIES), default=0
    )
    rows: list[tuple[str, str]] = [
        (
            "server",
            f"gunicorn, {WORKERS} workers, ENVIRONMENT=production, DEBUG off, "
            "static files collected (hashed, compressed, WhiteNoise)",
        ),
        (
            "lighthouse",
            f"{lighthouse_version()}, {CHROME_PATH}, headless, mobile form factor, "
            f"simulated throttling, {runs} run(s) per page (median score)",
        ),
    ]
    for result in results:
        scores = ", ".join(f"{category} {result.score(category)}" for category in CATEGORIES)
        rows.append((f"{result.name} ({result.path})", f"{scores}; {result.html_bytes:,} B HTML"))
        rows.append(("  metrics", ", ".join(f"{k} {v}" for k, v in result.metrics.items())))
        for category in CATEGORIES:
            if result.lost.get(category):
                rows.append((f"  {category} lost on", "; ".join(sorted(result.lost[category]))))
    rows += [
        (
            "ratio",
            f"{lowest / GOAL:.2f} (lowest score / {GOAL}, over {len(results)} page(s) "
            f"and {len(CATEGORIES)} categories)",
        ),
        ("goal", "met" if results and lowest >= GOAL else f"NOT met (lowest score {lowest})"),
        ("checks", "; ".join(problems) if problems else "every page 200, the right page"),
    ]
    summary("bench/lighthouse.py", rows)
    return 1 if problems or not results else 0


def make_patient() -> tuple[str, str]:
    """A patient treated an hour ago (face, eyes and neck at 1.5 mm), with an emailed link."""
    from decimal import Decimal

    from django.urls import reverse
    from django.utils import timezone

    from aftercare import tasks
    from aftercare.links import link_issue, token_for
    from aftercare.plans.services import plan_create
    from tests.factories import ClinicFactory, OpeningHoursFactory, TreatmentFactory

    # Nothing is sent: the plan's first reminders are not what is measured.
    tasks.send_plan_reminders_now.delay = lambda *args, **kwargs: None
    clinic = ClinicFactory(name="Harbour Lane Skin Clinic", slug="harbour-lane")
    for weekday in range(5):
        OpeningHoursFactory(clinic=clinic, weekday=weekday, opens="09:00", closes="18:00")
    treatment = TreatmentFactory(
        patient__clinic=clinic,
        performed_at=timezone.now() - timedelta(hours=1),
        areas=["cheeks", "periorbital", "neck"],
        depth_mm=Decimal("1.5"),
        passes=3,
    )
    plan = plan_create(treatment=treatment)
    link = link_issue(plan=plan)
    return reverse("patient:open", args=[clinic.slug, token_for(link)]), clinic.slug


def record(result: PageResult, report: dict) -> None:
    categories = report["categories"]
    for category in CATEGORIES:
        result.scores.setdefault(category, []).append(round(categories[category]["score"] * 100))
        for ref in categories[category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                shown = audit.get("displayValue") or f"score {audit['score']}"
                result.lost.setdefault(category, set()).add(f"{audit['title']} ({shown})")
    audits = report["audits"]
    for key, label in (
        ("first-contentful-paint", "FCP"),
        ("largest-contentful-paint", "LCP"),
        ("speed-index", "SI"),
        ("total-blocking-time", "TBT"),
        ("cumulative-layout-shift", "CLS"),
    ):
        result.metrics[label] = audits[key].get("displayValue", "?")


def lighthouse(url: str, cookie: str) -> dict:
    """One Lighthouse run of `url`, as a phone, carrying the patient's session cookie.

    Lighthouse now and then fails to record a trace in headless chromium (NO_NAVSTART,
    "Please run Lighthouse again"): such a run is tried again, up to ATTEMPTS times.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return lighthouse_once(url, cookie)
        except LighthouseRetry as error:
            if attempt == ATTEMPTS:
                raise RuntimeError(str(error)) from None
            print(f"  (lighthouse asked to be run again: {error.reason}; attempt {attempt + 1})")
    raise AssertionError("unreachable")


class LighthouseRetry(Exception):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def lighthouse_once(url: str, cookie: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-lighthouse-") as folder:
        output = Path(folder) / "report.json"
        completed = subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                f"--only-categories={','.join(CATEGORIES)}",
                "--form-factor=mobile",
                "--output=json",
                f"--output-path={output}",
                f"--chrome-flags={CHROME_FLAGS}",
                f"--extra-headers={json.dumps({'Cookie': cookie})}",
                "--quiet",
            ],
            cwd=ROOT,
            env={**os.environ, "CHROME_PATH": CHROME_PATH},
            capture_output=True,
            text=True,
            timeout=LIGHTHOUSE_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0 or not output.exists():
            message = f"lighthouse exited {completed.returncode}:\n{completed.stderr[-3000:]}"
            if "run Lighthouse again" in completed.stderr:
                reason = completed.stderr.strip().splitlines()[-1][-120:]
                raise LighthouseRetry(message, reason)
            raise RuntimeError(message)
        report: dict = json.loads(output.read_text())
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse: {report['runtimeError']}")
    final_url = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    if final_url != url:
        raise RuntimeError(f"lighthouse was sent from {url} to {final_url}: no session?")
    return report


def check_document(report: dict, expected_bytes: int) -> None:
    """The page Lighthouse loaded is the one checked above: 200, and about its size (the
    page without the session, which says how to open it, is much shorter)."""
    url = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    items = report["audits"]["network-requests"]["details"]["items"]
    document = next((item for item in items if item["url"] == url), None)
    if document is None or document["statusCode"] != 200:
        status = document["statusCode"] if document else "nothing"
        raise RuntimeError(f"lighthouse loaded {url}: {status}, not 200")
    loaded = document.get("resourceSize", 0)
    if abs(loaded - expected_bytes) > expected_bytes // 10:
        raise RuntimeError(
            f"lighthouse loaded {loaded:,} bytes of {url}, not about {expected_bytes:,}: "
            "was the session cookie sent?"
        )


def lighthouse_version() -> str:
    package = ROOT / "node_modules" / "lighthouse" / "package.json"
    return f"lighthouse {json.loads(package.read_text())['version']}"


# --- the server ---------------------------------------------------------------


def http_get(port: int, path: str, cookie: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def session_cookie(port: int, open_path: str) -> str:
    """Open the emailed link once, as a browser would: the patient's session cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", open_path)
        response = connection.getresponse()
        response.read()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    finally:
        connection.close()
    from aftercare.portal.session import PATIENT_COOKIE_NAME

    if response.status != 302 or PATIENT_COOKIE_NAME not in cookies:
        raise RuntimeError(f"opening the link answered {response.status} without a session")
    return f"{PATIENT_COOKIE_NAME}={cookies[PATIENT_COOKIE_NAME].value}"


if __name__ == "__main__":
    sys.exit(main())
