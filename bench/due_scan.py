"""Benchmark: claiming due reminders does not slow down as future reminders pile up.

Times aftercare.delivery.dispatch.claim_due_reminders(limit=1000) in two databases, in
the same run, taking turns claim by claim:

- A (aftercare_bench_scan_small): only the 1,000 due rows;
- B (aftercare_bench_scan): the same 1,000 due rows plus 1,000,000 pending rows
  due far in the future.

Prints the median of several claims for each, ratio = B / A (goal <= 2.0) and
EXPLAIN (ANALYZE, BUFFERS) of the claim's SELECT, which must use the partial
index `reminder_due`; exits non-zero if it does not.

    .venv/bin/python bench/due_scan.py [--rows 1000000] [--due 1000] [--reps 7] [--keep-db]
                                       [--tiny]

--tiny is a smoke run of a few seconds (tests/bench/test_benchmarks_run.py): 5,000
future rows, 20 due, 1 repetition. It proves the benchmark still runs against the
current schema; its ratio means little.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import timedelta

from _setup import (
    bench_database,
    extra_database,
    median,
    summary,
    using,
    without_first_reminder_task,
)

DATABASE = "aftercare_bench_scan"  # case B
SMALL = "aftercare_bench_scan_small"  # case A
GOAL = 2.0
PLANS = 4
INDEX = "reminder_due"
USES_INDEX = re.compile(
    rf"(Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) {INDEX}\b"
)

# Rows n = first..last, spread over the plans round-robin; `kind` and
# `message_id` carry n, so both unique constraints hold. Zero-padded, so the
# text values grow with n and their btree indexes are filled in order (with
# plain n, '10' < '2' scatters the inserts and the load takes longer).
INSERT = """
INSERT INTO aftercare_reminder (
    plan_id, patient_id, kind, label, covers, day_number, due_at, status, attempts,
    next_attempt_at, lease_token, last_error, sent_at, cancelled_reason, note, message_id,
    created_at
)
SELECT
    (%(plan_ids)s::bigint[])[1 + n %% %(plans)s],
    (%(patient_ids)s::bigint[])[1 + n %% %(plans)s],
    'k' || lpad(n::text, 9, '0'), 'Day 3', 'How your skin should look today.', 3,
    %(start)s + n * interval '1 millisecond', 'pending', 0,
    %(start)s + n * interval '1 millisecond', NULL, '', NULL, '', '',
    '<scan-' || lpad(n::text, 9, '0') || '@bench.localhost>', now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
"""

# Untimed, between repetitions: put the claimed rows back as they were (then VACUUM).
RESET = """
UPDATE aftercare_reminder
SET status = 'pending', lease_token = NULL, attempts = 0, next_attempt_at = due_at
WHERE id = ANY(%s)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="future rows in B (1000000)")
    parser.add_argument("--due", type=int, default=1_000, help="due rows, and the claim limit")
    parser.add_argument("--reps", type=int, default=7, help="timed claims per case (7)")
    parser.add_argument(
        "--keep-db", action="store_true", help=f"keep the {DATABASE} and {SMALL} databases"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a smoke run of a few seconds (ratio means little)"
    )
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.due, args.reps = 5_000, 20, 1
    if args.due < 1 or args.rows < 0 or args.reps < 1:
        parser.error("--due and --reps must be at least 1, --rows at least 0")

    with (
        bench_database(DATABASE, keep=args.keep_db),
        extra_database(SMALL, keep=args.keep_db) as small,
    ):
        return run(args, small)


def run(args: argparse.Namespace, small: object) -> int:
    from django.db import connections
    from django.utils import timezone

    without_first_reminder_task()
    now = timezone.now()
    cases = {"A": small, "B": connections["default"]}
    for name, database in cases.items():
        with using(database):
            plans = create_plans(now)
            insert_rows(plans, first=1, last=args.due, start=now - timedelta(hours=1))
            if name == "B":
                started = time.perf_counter()
                insert_rows(
                    plans,
                    first=args.due + 1,
                    last=args.due + args.rows,
                    start=now + timedelta(days=30),
                )
                loaded = time.perf_counter() - started
            started = time.perf_counter()
            vacuum_analyze()
            if name == "B":
                vacuumed = time.perf_counter() - started
    print(f"B: loaded {args.rows} future rows in {loaded:.1f}s (then vacuumed in {vacuumed:.1f}s)")

    results = measure(cases, now=now, due=args.due, reps=args.reps)
    (a_times, a_parts, a_plan), (b_times, b_parts, b_plan) = results["A"], results["B"]

    print(f"\n== EXPLAIN (ANALYZE, BUFFERS) of the claim's SELECT, A: {args.due} rows ==")
    print(a_plan)
    print(
        f"\n== EXPLAIN (ANALYZE, BUFFERS) of the claim's SELECT, B: {args.due + args.rows} rows =="
    )
    print(b_plan)

    a, b = median(a_times), median(b_times)
    ratio = b / a
    b_uses_index = uses_index(b_plan)
    summary(
        "bench/due_scan.py",
        [
            (
                "claim",
                f"claim_due_reminders(limit={args.due}), median of {args.reps}, A and B in turn",
            ),
            ("A", f"{args.due} rows: {a * 1000:.1f} ms  (all: {format_times(a_times)})"),
            (
                "B",
                f"{args.due + args.rows} rows: {b * 1000:.1f} ms  (all: {format_times(b_times)})",
            ),
            ("A split", split(a_times, a_parts)),
            ("B split", split(b_times, b_parts)),
            ("ratio", f"{ratio:.2f} (B / A)"),
            ("goal", f"<= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'}"),
            ("plan A", "uses reminder_due" if uses_index(a_plan) else "does not use reminder_due"),
            ("plan B", "uses reminder_due" if b_uses_index else "does NOT use reminder_due"),
        ],
    )
    return 0 if b_uses_index else 1


def create_plans(now) -> list[tuple[int, int]]:
    """(plan id, patient id) of a few plans made the real way, without their own reminders."""
    from django.db import transaction

    from aftercare.models import Reminder
    from aftercare.plans.services import plan_create
    from tests.factories import ClinicFactory, PatientFactory, TreatmentFactory, UserFactory

    with transaction.atomic():
        clinic = ClinicFactory()
        practitioner = UserFactory()
        made = []
        for _ in range(PLANS):
            treatment = TreatmentFactory(
                patient=PatientFactory(clinic=clinic),
                clinic=clinic,
                practitioner=practitioner,
                performed_at=now - timedelta(hours=2),
            )
            plan = plan_create(treatment=treatment, now=now)
            made.append((plan.pk, treatment.patient_id))
        Reminder.objects.all().delete()
    return made


def insert_rows(plans: list[tuple[int, int]], *, first: int, last: int, start) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # The plan and patient ids are real, so skip the per-row foreign key
        # triggers: with them, 1M rows load several times slower.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            INSERT,
            {
                "plan_ids": [plan_id for plan_id, _ in plans],
                "patient_ids": [patient_id for _, patient_id in plans],
                "plans": len(plans),
                "start": start,
                "first": first,
                "last": last,
            },
        )


def vacuum_analyze() -> None:
    from django.db import connection

    # Outside any transaction (Django runs in autocommit), as VACUUM requires.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) aftercare_reminder")
        # Write the loaded pages out now, not during the timed claims.
        cursor.execute("CHECKPOINT")


def measure(
    cases: dict[str, object], *, now, due: int, reps: int
) -> dict[str, tuple[list[float], list[list[float]], str]]:
    """For each case: seconds of each timed claim, of each of its statements
    (SELECT, UPDATE), and the SELECT's plan.

    The cases take turns, one claim each (alternating which goes first), after
    one untimed warm-up claim each: a change in machine load hits both alike.
    """
    times: dict[str, list[float]] = {name: [] for name in cases}
    parts: dict[str, list[list[float]]] = {name: [] for name in cases}
    selects: dict[str, tuple[str, object]] = {}
    for rep in range(reps + 1):
        order = list(cases) if rep % 2 == 0 else list(reversed(cases))
        for name in order:
            with using(cases[name]):
                elapsed, statements = claim_once(now=now, due=due)
                if not rep:
                    selects[name] = next(
                        (sql, params)
                        for sql, params, _ in statements
                        if sql.lstrip().upper().startswith("SELECT")
                    )
            if rep:
                times[name].append(elapsed)
                parts[name].append([seconds for _, _, seconds in statements])
    plans = {}
    for name, select in selects.items():
        with using(cases[name]):
            plans[name] = explain(*select)
    return {name: (times[name], parts[name], plans[name]) for name in cases}


def claim_once(*, now, due: int) -> tuple[float, list[tuple[str, object, float]]]:
    """Time one claim (and each statement it runs), then undo it, untimed."""
    from django.conf import settings
    from django.db import connection

    from aftercare.delivery.dispatch import claim_due_reminders

    statements: list[tuple[str, object, float]] = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, params, time.perf_counter() - started))

    with connection.execute_wrapper(record):
        started = time.perf_counter()
        claim = claim_due_reminders(
            now=now, limit=due, lease_seconds=settings.REMINDER_LEASE_SECONDS
        )
        elapsed = time.perf_counter() - started
    if len(claim.ids) != due:
        raise SystemExit(f"claimed {len(claim.ids)} rows, expected {due}")
    with connection.cursor() as cursor:
        cursor.execute(RESET, [list(claim.ids)])
        # Every claim and reset leaves dead row versions behind, in the
        # table and in every index (the indexed next_attempt_at changes, so
        # no update is HOT). Clear them so each repetition starts alike:
        # INDEX_CLEANUP ON, because on the big table VACUUM would otherwise
        # skip the indexes (too few dead rows) and reminder_due would keep
        # growing dead entries that the next claim's scan has to step over.
        cursor.execute("VACUUM (INDEX_CLEANUP ON) aftercare_reminder")
    return elapsed, statements


def explain(sql: str, params: object) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) the claim's SELECT ... FOR UPDATE, then roll back its locks."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def uses_index(plan: str) -> bool:
    return any(USES_INDEX.search(line) for line in plan.splitlines())


def split(times: list[float], parts: list[list[float]]) -> str:
    """Medians of the claim's SELECT, its UPDATE, and the rest (mostly COMMIT)."""
    select = median([statements[0] for statements in parts])
    update = median([sum(statements[1:]) for statements in parts])
    rest = median([total - sum(statements) for total, statements in zip(times, parts, strict=True)])
    return (
        f"SELECT {select * 1000:.1f} ms, UPDATE {update * 1000:.1f} ms, commit {rest * 1000:.1f} ms"
    )


def format_times(times: list[float]) -> str:
    return " ".join(f"{seconds * 1000:.1f}" for seconds in times)


if __name__ == "__main__":
    sys.exit(main())
