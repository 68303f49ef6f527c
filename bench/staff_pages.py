"""Benchmark: staff pages cost the same for a clinic group of a million patients as for 1,000.

Fills one database with two clinics, each with its staff and, in proportion, one
treatment, one plan (with its patient link) and 8 reminders per patient, consent
records, concern reports (0.3% of patients with an open one, 5% handled) and courses
of sessions, all from raw `INSERT ... SELECT generate_series` (as bench/due_scan.py
does):

- big: --patients patients (1,000,000: 8,000,000 reminders);
- small: --small patients (1,000).

Then it logs a practitioner of each clinic in (Django's test Client, no second
factor: their clinic does not require one) and times, in turn, request by request,
these pages at both sizes: staff Today (`home`), patient search (`patients:list`
with a `q=` fragment that matches three patients at both sizes), a patient's
timeline (`patients:timeline`), Next sessions (`aftercare:courses_due`) and Patient
reports (`aftercare:concern_list`).

Prints per page the median ms at both sizes, ratio = big / small, the SQL statements
one request runs at both sizes (CaptureQueriesContext) and whether the goal is met:
ratio <= 2.0 and the same statement count at both sizes. Also the slowest statement
of each page at the big size; with --explain, EXPLAIN (ANALYZE, BUFFERS) of it for
each page that misses. Exits 1 only when a page does not answer 200 with what it
should show; a missed goal is printed, never turned into a failure.

    .venv/bin/python bench/staff_pages.py [--patients 1000000] [--small 1000] [--reps 5]
                                          [--explain] [--keep-db] [--tiny]

--tiny is a smoke run of a few seconds (tests/bench/test_benchmarks_run.py): 400 and
40 patients, 1 repetition. It proves the benchmark still runs against the current
schema; its figures mean little.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from _setup import bench_database, median, summary, without_first_reminder_task

DATABASE = "aftercare_bench_staff"
GOAL_RATIO = 2.0
# History the patients' treatments are spread over, evenly, the newest 10 minutes ago.
HISTORY_DAYS = 730
PRACTITIONERS = {"big": 12, "small": 2}
FRONT_DESK = {"big": 6, "small": 1}
# Three patients of each clinic carry this surname; the search looks for a fragment of it.
SEARCHED_SURNAME = "Wolstenholme"
SEARCH_FRAGMENT = "wolsten"
# The timeline shown is that of the patient treated most recently before this long ago:
# at both sizes a record with sent and pending reminders, a link and a consent change.
TIMELINE_AGE = timedelta(days=10)

FIRST_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Sophia", "Grace",
    "Freya", "Florence", "Willow", "Evie", "Poppy", "Emily", "Ella", "Sienna", "Charlotte",
    "Harper", "Noah", "Oliver", "George", "Arthur", "Leo", "Muhammad", "Harry", "Oscar",
    "Archie", "Henry", "Theodore", "Jack", "Freddie", "Charlie", "Thomas", "Jordan", "Priya",
    "Aisha", "Zara", "Chloe",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper",
    "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee",
    "Allen", "Morris", "Khan", "Scott", "Watson", "Davis", "Parker", "James", "Bennett",
    "Young", "Phillips", "Richardson", "Mitchell", "Bailey", "Carter", "Cook", "Singh",
    "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum", "Miller", "Cox", "Hussain",
    "Marshall", "Simpson", "Price", "Anderson", "Adams", "Wilkinson", "Ali", "Ahmed",
    "Foster", "Ellis", "Murphy", "Chapman", "Mason", "Gray", "Richards", "Webb", "Griffiths",
    "Hunt", "Palmer", "Campbell", "Holmes", "Mills", "Rogers", "Barnes", "Knight", "Matthews",
    "Barker", "Powell", "Stevens", "Kaur", "Fisher", "Butler", "Dixon", "Russell", "Harvey",
    "Pearson", "Graham",
]  # fmt: skip
AREAS = ['["cheeks"]', '["forehead", "cheeks"]', '["neck"]', '["perioral", "chin_jawline"]']
DEVICES = ["pen", "roller", "stamp", "rf"]
SYMPTOMS = ['["peeling"]', '["breakouts", "peeling"]', '["redness_past_72h", "heat"]']

# --- the fill ---------------------------------------------------------------------------
#
# Every row of a clinic is a function of n = 0 .. count-1, the patient's number: patient
# n has treatment n, plan n and link n, and reminders 8n .. 8n+7. Ids are base + n (each
# table's base is one above its highest id), written in id order, so every btree is
# filled in order; the identity sequences are moved past them afterwards.

# Patient n's treatment time: spread evenly over the history, the newest 10 minutes ago.
TREATED = "(%(end)s::timestamptz - (%(count)s - n - 0.5) * %(step)s * interval '1 second')"
# 0.1% of the patients treated more than 60 days ago were erased 30 days after it.
ERASED = f"(n %% 997 = 5 AND {TREATED} < %(now)s - interval '60 days')"
# 10% of the patients did not agree to emails.
CONSENTS = "(n %% 10 <> 9)"
# 0.5% of the addresses bounced, 5 days after the treatment.
BOUNCED = f"(n %% 211 = 13 AND {TREATED} < %(now)s - interval '6 days')"
# The searched surname, three patients per clinic.
SEARCHED = "n IN (%(count)s / 4, %(count)s / 2, 3 * %(count)s / 4)"

PATIENTS = f"""
INSERT INTO patients_patient (
    id, clinic_id, first_name, last_name, email, phone, date_of_birth, skin_type,
    email_consent, email_consent_at, breakout_prone, slow_healing, sensitive_skin,
    history_notes, email_undeliverable_at, email_undeliverable_reason, erased_at,
    created_at, updated_at
)
SELECT
    %(patient_base)s + n, %(clinic)s,
    CASE WHEN {ERASED} THEN %(erased_first)s ELSE first_name END,
    CASE WHEN {ERASED} THEN %(erased_last)s ELSE last_name END,
    CASE WHEN {ERASED} THEN ''
         ELSE lower(first_name || '.' || last_name) || (%(patient_base)s + n) || '@example.com'
    END,
    CASE WHEN {ERASED} THEN ''
         ELSE '07700 ' || lpad(((%(patient_base)s + n) %% 1000000)::text, 6, '0')
    END,
    date '1960-01-01' + ((n * 37) %% 15000)::int,
    1 + n %% 6,
    {CONSENTS} AND NOT {ERASED},
    CASE WHEN {CONSENTS} AND NOT {ERASED} THEN {TREATED} - interval '7 days' END,
    n %% 7 = 0, n %% 23 = 0, n %% 5 = 0, '',
    CASE WHEN {BOUNCED} AND NOT {ERASED} THEN {TREATED} + interval '5 days' END,
    CASE WHEN {BOUNCED} AND NOT {ERASED} THEN 'bounced' ELSE '' END,
    CASE WHEN {ERASED} THEN {TREATED} + interval '30 days' END,
    {TREATED} - interval '7 days', {TREATED} - interval '7 days'
FROM (
    SELECT
        n,
        (%(first_names)s::text[])[1 + (n * 7 + n / 13) %% %(first_count)s] AS first_name,
        CASE WHEN {SEARCHED} THEN %(searched)s
             ELSE (%(last_names)s::text[])[1 + (n * 31 + n / 7) %% %(last_count)s]
        END AS last_name
    FROM generate_series(0, %(count)s - 1) AS n
) AS names
ORDER BY n
"""

TREATMENTS = f"""
INSERT INTO patients_treatment (
    id, clinic_id, patient_id, practitioner_id, performed_at, depth_mm, passes, areas,
    device, products_applied, notes, created_at, updated_at
)
SELECT
    %(treatment_base)s + n, %(clinic)s, %(patient_base)s + n,
    (%(practitioners)s::int[])[1 + n %% %(practitioner_count)s],
    {TREATED}, 1.0 + (n %% 10) / 10.0, 1 + n %% 4,
    (%(areas)s::jsonb[])[1 + n %% %(area_count)s],
    (%(devices)s::text[])[1 + n %% %(device_count)s], '', '',
    {TREATED}, {TREATED}
FROM generate_series(0, %(count)s - 1) AS n
ORDER BY n
"""

PLANS = f"""
INSERT INTO aftercare_aftercareplan (
    id, treatment_id, revision, content, guidance_id, intensity, created_at, created_by_id,
    superseded_at, superseded_by_id
)
SELECT
    %(plan_base)s + n, %(treatment_base)s + n, 1, %(content)s::jsonb, %(guidance)s,
    1 + n %% 3, {TREATED} + interval '1 minute',
    (%(practitioners)s::int[])[1 + n %% %(practitioner_count)s], NULL, NULL
FROM generate_series(0, %(count)s - 1) AS n
ORDER BY n
"""

LINKS = f"""
INSERT INTO aftercare_patientlink (
    id, plan_id, salt, token_hash, created_at, expires_at, revoked_at
)
SELECT
    %(link_base)s + n, %(plan_base)s + n,
    's' || lpad((%(link_base)s + n)::text, 63, '0'),
    'h' || lpad((%(link_base)s + n)::text, 63, '0'),
    {TREATED} + interval '1 minute', {TREATED} + interval '120 days',
    CASE WHEN {ERASED} THEN {TREATED} + interval '30 days' END
FROM generate_series(0, %(count)s - 1) AS n
ORDER BY n
"""

# Reminder r belongs to patient n = r / 8; its moment is k = r %% 8 (the shipped
# guidance's eight). Past ones are sent (0.2% failed, 2% cancelled), later ones pending;
# an erased patient's later ones are cancelled.
REMINDERS = f"""
INSERT INTO aftercare_reminder (
    id, plan_id, patient_id, kind, label, covers, day_number, due_at, status, attempts,
    next_attempt_at, first_refused_at, lease_token, last_error, sent_at, cancelled_reason,
    note, message_id, delivery_status, delivery_status_at, created_at
)
SELECT
    %(reminder_base)s + r, %(plan_base)s + n, %(patient_base)s + n,
    (%(kinds)s::text[])[k + 1], (%(labels)s::text[])[k + 1], (%(covers)s::text[])[k + 1],
    (%(offsets)s::int[])[k + 1], due, status,
    CASE status WHEN 'sent' THEN 1 WHEN 'failed' THEN 3 ELSE 0 END,
    due, NULL, NULL,
    CASE WHEN status = 'failed' THEN '550 5.1.1 Mailbox unavailable' ELSE '' END,
    CASE WHEN status = 'sent' THEN due + interval '1 minute' END,
    CASE WHEN status = 'cancelled' THEN 'stopped by staff' ELSE '' END,
    '',
    '<r' || lpad((%(reminder_base)s + r)::text, 12, '0') || '@bench.localhost>',
    CASE WHEN status = 'sent' THEN 'delivered' ELSE '' END,
    CASE WHEN status = 'sent' THEN due + interval '2 minutes' END,
    treated + interval '1 minute'
FROM (
    SELECT
        r, n, k, treated, due,
        CASE
            WHEN erased AND due > treated + interval '30 days' THEN 'cancelled'
            WHEN due >= %(now)s THEN 'pending'
            WHEN r %% 499 = 17 THEN 'failed'
            WHEN r %% 53 = 3 THEN 'cancelled'
            ELSE 'sent'
        END AS status
    FROM (
        SELECT
            r, n, k, {TREATED} AS treated, {ERASED} AS erased,
            {TREATED} + interval '1 hour'
                + (%(offsets)s::int[])[k + 1] * interval '1 day' AS due
        FROM generate_series(0::bigint, 8 * %(count)s - 1) AS r,
             LATERAL (SELECT r / 8 AS n, (r %% 8)::int AS k) AS split
    ) AS timed
) AS rows
ORDER BY r
"""

CONSENT_CHANGES = f"""
INSERT INTO patients_consentchange (patient_id, given, source, recorded_by_id, at)
SELECT
    %(patient_base)s + n, true, 'staff',
    (%(practitioners)s::int[])[1 + n %% %(practitioner_count)s], {TREATED} - interval '7 days'
FROM generate_series(0, %(count)s - 1) AS n
WHERE {CONSENTS}
ORDER BY n
"""

# 0.3% of the patients have an open report (a fifth of them red flags), made two days
# after their treatment; 5% more have one handled three hours after it came in.
CONCERNS = f"""
INSERT INTO aftercare_concernreport (
    plan_id, patient_id, clinic_id, symptoms, details, photo, is_red_flag, created_at,
    handled_at, handled_by_id, handling_note
)
SELECT
    %(plan_base)s + n, %(patient_base)s + n, %(clinic)s,
    CASE WHEN red THEN (%(symptoms)s::jsonb[])[3]
         ELSE (%(symptoms)s::jsonb[])[1 + n %% 2] END,
    'It has been like this since yesterday.', '', red, created,
    CASE WHEN NOT open THEN created + interval '3 hours' END,
    CASE WHEN NOT open THEN (%(practitioners)s::int[])[1 + n %% %(practitioner_count)s] END,
    CASE WHEN NOT open THEN 'Called the patient; normal healing.' ELSE '' END
FROM (
    SELECT
        n, n %% 331 = 7 AS open, (n / 331) %% 5 = 0 AS red,
        LEAST({TREATED} + interval '2 days', %(now)s - interval '5 minutes') AS created
    FROM generate_series(0, %(count)s - 1) AS n
    WHERE NOT {ERASED}
      AND (n %% 331 = 7 OR (n %% 20 = 3 AND {TREATED} < %(now)s - interval '3 days'))
) AS reports
ORDER BY n
"""

# 2.5% of the patients start a course of sessions at their treatment; those treated in
# the last 180 days are still on it, the others ended it.
COURSES = f"""
INSERT INTO aftercare_treatmentcourse (
    patient_id, sessions, min_interval_weeks, max_interval_weeks, starts_on, created_by_id,
    created_at, ended_at
)
SELECT
    %(patient_base)s + n, 3 + n %% 4, 4, 6,
    ({TREATED} AT TIME ZONE %(timezone)s)::date,
    (%(practitioners)s::int[])[1 + n %% %(practitioner_count)s], {TREATED},
    CASE WHEN {TREATED} < %(now)s - interval '180 days'
         THEN {TREATED} + interval '170 days' END
FROM generate_series(0, %(count)s - 1) AS n
WHERE n %% 40 = 11 AND NOT {ERASED}
ORDER BY n
"""

# (table, statement, the id base it needs, or None when its ids come from the sequence)
FILL = [
    ("patients_patient", PATIENTS, "patient_base"),
    ("patients_treatment", TREATMENTS, "treatment_base"),
    ("aftercare_aftercareplan", PLANS, "plan_base"),
    ("aftercare_patientlink", LINKS, "link_base"),
    ("aftercare_reminder", REMINDERS, "reminder_base"),
    ("patients_consentchange", CONSENT_CHANGES, None),
    ("aftercare_concernreport", CONCERNS, None),
    ("aftercare_treatmentcourse", COURSES, None),
]


@dataclass
class Case:
    """One clinic: its size, the practitioner who looks at its pages and what they open."""

    name: str
    patients: int
    clinic_id: int = 0
    user: object = None
    client: object = None
    paths: dict[str, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    page: str
    times: dict[str, list[float]] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
    sql_ms: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    slowest: dict[str, tuple[float, str]] = field(default_factory=dict)

    def ms(self, case: str) -> float:
        return median(self.times[case]) * 1000

    @property
    def ratio(self) -> float:
        return self.ms("big") / max(self.ms("small"), 1e-6)

    @property
    def same_queries(self) -> bool:
        return self.queries["big"] == self.queries["small"]

    @property
    def met(self) -> bool:
        return self.ratio <= GOAL_RATIO and self.same_queries

    def verdict(self) -> str:
        if self.met:
            return "met"
        reasons = []
        if self.ratio > GOAL_RATIO:
            reasons.append(f"ratio > {GOAL_RATIO}")
        if not self.same_queries:
            reasons.append("query count grows")
        return "NOT met (" + ", ".join(reasons) + ")"


PAGES = ["Today", "Patient search", "Patient timeline", "Next sessions", "Patient reports"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--patients", type=int, default=1_000_000, help="patients of the big clinic (1000000)"
    )
    parser.add_argument("--small", type=int, default=1_000, help="patients of the small one (1000)")
    parser.add_argument("--reps", type=int, default=5, help="timed requests per page and size (5)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE the slowest statement of each page that misses, at the big size",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument(
        "--tiny", action="store_true", help="a smoke run of a few seconds (figures mean little)"
    )
    args = parser.parse_args()
    if args.tiny:
        args.patients, args.small, args.reps = 400, 40, 1
    if args.small < 8 or args.patients < args.small or args.reps < 1:
        parser.error("--small must be at least 8, --patients at least --small, --reps at least 1")

    # WhiteNoise warns about the missing collectstatic folder; the pages need none of it.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    with bench_database(DATABASE, keep=args.keep_db):
        return run(args)


def run(args: argparse.Namespace) -> int:
    from django.utils import timezone

    without_first_reminder_task()
    now = timezone.now()
    cases = [Case("big", args.patients), Case("small", args.small)]
    guidance = guidance_snapshot()
    for case in cases:
        started = time.perf_counter()
        fill_clinic(case, now=now, guidance=guidance)
        seconds = time.perf_counter() - started
        print(f"{case.name}: {case.patients:,} patients filled in {seconds:.1f}s")
    started = time.perf_counter()
    vacuum_analyze()
    print(f"vacuumed and analysed in {time.perf_counter() - started:.1f}s")
    for case in cases:
        prepare_pages(case, now=now)

    problems: list[str] = []
    results = measure(cases, reps=args.reps, problems=problems)
    report(results, cases, args)
    if args.explain:
        for result in results:
            if not result.met:
                explain(result)
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


# --- data -------------------------------------------------------------------------------


def guidance_snapshot() -> int:
    """A guidance snapshot every generated plan points at.

    The timed pages never read a plan's guidance or content, so the plans carry a small
    placeholder content rather than a planner's whole output (a few kB each, a few GB
    at a million plans, for nothing these pages show).
    """
    from aftercare.models import GuidanceSnapshot

    return GuidanceSnapshot.objects.create(fingerprint="bench-staff-pages", data={}).pk


def fill_clinic(case: Case, *, now: datetime, guidance: int) -> None:
    import json

    from django.db import connection, transaction

    from aftercare.planner.default_guidance import REMINDERS as MOMENTS
    from clinic.models import StaffRole
    from patients.data_rights import ERASED_FIRST_NAME, ERASED_LAST_NAME
    from tests.factories import ClinicFactory, StaffMembershipFactory

    assert len(MOMENTS) == 8, "the fill writes 8 reminders per plan, one per shipped moment"
    with transaction.atomic():
        clinic = ClinicFactory(name=f"Bench {case.name} clinic ({case.patients:,} patients)")
        staff = [
            StaffMembershipFactory(clinic=clinic, role=StaffRole.PRACTITIONER).user
            for _ in range(PRACTITIONERS[case.name])
        ]
        for _ in range(FRONT_DESK[case.name]):
            StaffMembershipFactory(clinic=clinic, role=StaffRole.FRONT_DESK)
    case.clinic_id, case.user = clinic.pk, staff[0]

    end = now - timedelta(minutes=10)
    params = {
        "clinic": clinic.pk,
        "count": case.patients,
        "now": now,
        "end": end,
        "step": HISTORY_DAYS * 86400 / case.patients,
        "timezone": clinic.timezone,
        "first_names": FIRST_NAMES,
        "first_count": len(FIRST_NAMES),
        "last_names": LAST_NAMES,
        "last_count": len(LAST_NAMES),
        "searched": SEARCHED_SURNAME,
        "erased_first": ERASED_FIRST_NAME,
        "erased_last": ERASED_LAST_NAME,
        "practitioners": [user.pk for user in staff],
        "practitioner_count": len(staff),
        "areas": AREAS,
        "area_count": len(AREAS),
        "devices": DEVICES,
        "device_count": len(DEVICES),
        "symptoms": SYMPTOMS,
        "content": json.dumps({"bench": "placeholder: see bench/staff_pages.py"}),
        "guidance": guidance,
        "kinds": [moment.key for moment in MOMENTS],
        "labels": [moment.label for moment in MOMENTS],
        "covers": [moment.summary_md for moment in MOMENTS],
        "offsets": [moment.offset_days for moment in MOMENTS],
    }
    for table, statement, base in FILL:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            # The ids are consistent by construction: skip the per-row foreign key
            # triggers, which make a load of millions of rows several times slower.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL synchronous_commit = off")
            if base:
                cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
                params[base] = cursor.fetchone()[0]
            cursor.execute(statement, params)
            rows = cursor.rowcount
            if base:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
        if case.patients >= 100_000:
            print(f"  {table}: {rows:,} rows in {time.perf_counter() - started:.1f}s", flush=True)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # Outside a transaction (Django runs in autocommit), as VACUUM requires; sets the
        # visibility map, so index-only scans work as they would on a settled table.
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")


def prepare_pages(case: Case, *, now: datetime) -> None:
    from django.test import Client
    from django.urls import reverse

    from patients.models import Patient

    patient = (
        Patient.objects.filter(
            clinic_id=case.clinic_id,
            erased_at__isnull=True,
            treatments__performed_at__lte=now - TIMELINE_AGE,
        )
        .order_by("-treatments__performed_at")
        .first()
    )
    case.paths = {
        "Today": reverse("home"),
        "Patient search": f"{reverse('patients:list')}?q={SEARCH_FRAGMENT}",
        "Patient timeline": reverse("patients:timeline", args=[patient.pk]),
        "Next sessions": reverse("aftercare:courses_due"),
        "Patient reports": reverse("aftercare:concern_list"),
    }
    # Text each page must show, so a wrong page (a login form, an empty search) is never timed.
    case.markers = {
        "Today": "Reports from patients",
        "Patient search": SEARCHED_SURNAME,
        "Patient timeline": patient.full_name,
        "Next sessions": "Window open now",
        "Patient reports": "Recently handled",
    }
    case.client = Client()
    case.client.force_login(case.user)


# --- measuring --------------------------------------------------------------------------


def measure(cases: list[Case], *, reps: int, problems: list[str]) -> list[Result]:
    """Per page: one warm-up request per size, one counted (statements captured), then
    `reps` timed requests per size, the sizes taking turns (alternating which goes first),
    so a change in machine load weighs on both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for page in PAGES:
        result = Result(page, times={case.name: [] for case in cases})
        for case in cases:
            get(case, page, problems)
            # Django keeps each statement's time to the millisecond only: time them here.
            seconds: list[float] = []
            with (
                CaptureQueriesContext(connection) as captured,
                connection.execute_wrapper(timer(seconds)),
            ):
                response = get(case, page, problems)
            statements = [
                (spent * 1000, query["sql"])
                for spent, query in zip(seconds, captured.captured_queries, strict=True)
            ]
            result.queries[case.name] = len(statements)
            result.sql_ms[case.name] = sum(ms for ms, _ in statements)
            result.sizes[case.name] = len(response.content)
            if statements:
                result.slowest[case.name] = max(statements)
        for rep in range(reps):
            for case in cases if rep % 2 == 0 else list(reversed(cases)):
                started = time.perf_counter()
                get(case, page, problems)
                result.times[case.name].append(time.perf_counter() - started)
        print(
            f"  {page:<17} big {result.ms('big'):9.1f} ms   small {result.ms('small'):7.1f} ms"
            f"   ratio {result.ratio:7.2f}",
            flush=True,
        )
        results.append(result)
    return results


def timer(seconds: list[float]):
    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds.append(time.perf_counter() - started)

    return record


def get(case: Case, page: str, problems: list[str]):
    response = case.client.get(case.paths[page])
    problem = ""
    if response.status_code != 200:
        problem = f"answered {response.status_code}"
    elif case.markers[page] not in response.content.decode():
        problem = f"does not show {case.markers[page]!r}"
    if problem:
        message = f"{page} ({case.name}, {case.paths[page]}) {problem}"
        if message not in problems:
            problems.append(message)
    return response


def report(results: list[Result], cases: list[Case], args: argparse.Namespace) -> None:
    big, small = cases
    print(
        f"\n{'page':<17} {'big ms':>9} {'small ms':>9} {'ratio':>7}  {'queries':>9}"
        f"  {'SQL ms big/small':>17}  {'kB big/small':>13}  goal"
    )
    for result in results:
        print(
            f"{result.page:<17} {result.ms('big'):9.1f} {result.ms('small'):9.1f} "
            f"{result.ratio:7.2f}  {result.queries['big']:>4}/{result.queries['small']:<4}"
            f"  {result.sql_ms['big']:8.1f}/{result.sql_ms['small']:<8.1f}"
            f"  {result.sizes['big'] / 1000:6.0f}/{result.sizes['small'] / 1000:<6.0f}"
            f"  {result.verdict()}"
        )
    print("\nslowest statement of each page, big clinic (one request, statements captured):")
    for result in results:
        if "big" in result.slowest:
            ms, sql = result.slowest["big"]
            print(f"  {result.page}: {ms:.1f} ms: {shorten(sql)}")

    worst = max(results, key=lambda result: result.ratio)
    summary(
        "bench/staff_pages.py",
        [
            ("big", f"{big.patients:,} patients, {8 * big.patients:,} reminders"),
            ("small", f"{small.patients:,} patients, same database"),
            ("timed", f"median of {args.reps} test-client requests per page and size, in turn"),
            *(
                (
                    result.page,
                    f"{result.ms('big'):.1f} / {result.ms('small'):.1f} ms, "
                    f"ratio {result.ratio:.2f}, queries {result.queries['big']}/"
                    f"{result.queries['small']}: {result.verdict()}",
                )
                for result in results
            ),
            ("ratio", f"{worst.ratio:.2f} (worst page: {worst.page}; goal <= {GOAL_RATIO})"),
            (
                "goal",
                "met by every page"
                if all(result.met for result in results)
                else "NOT met by: " + ", ".join(r.page for r in results if not r.met),
            ),
        ],
    )


def explain(result: Result) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the page's slowest statement at the big size."""
    from django.db import connection, transaction

    if "big" not in result.slowest:
        return
    _, sql = result.slowest["big"]
    if not sql.lstrip().upper().startswith("SELECT"):
        print(f"\n== {result.page}: slowest statement is not a SELECT, not explained ==")
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    print(f"\n== {result.page}: EXPLAIN (ANALYZE, BUFFERS) of its slowest statement, big ==")
    print(sql)
    print(plan)


def shorten(sql: str, width: int = 220) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
