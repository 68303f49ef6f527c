"""Benchmark: the real reminder dispatch path against a plain render-and-send loop.

Both send the same due reminders to an SMTP sink in its own process
(bench/_sink_process.py) in the same run:

- baseline: the reminders are loaded once (untimed), then each is rendered with
  aftercare.delivery.emails.reminder_email and sent over ONE open SMTP connection. No
  claiming, no link lookups, no database writes: the ceiling for this machine.
- dispatch: aftercare.delivery.dispatch.dispatch_due(now=...), which claims batches,
  looks up each plan's link, renders, sends and records every outcome.

The reminders are sent in rounds (--rounds, default 5): each round one group of
them is sent by both ways in turn, so a change in machine load during the run
hits both sides alike. Prints emails/s for both and ratio = dispatch rate /
baseline rate. Goal: >= 0.6.

    .venv/bin/python bench/dispatch.py [--count 10000] [--plans 100] [--rounds 5]
        [--batch-size N] [--profile] [--stock-sink] [--keep-db]
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import pstats
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from _setup import bench_database, smtp_sink, summary, without_first_reminder_task

DATABASE = "aftercare_bench_dispatch"
GOAL = 0.6
CLINICS = 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders to send (10000)")
    parser.add_argument(
        "--plans",
        type=int,
        default=100,
        help="plans the reminders are spread over, round-robin (100): a batch then holds "
        "reminders of many patients, as it does in production",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="REMINDER_BATCH_SIZE (default: settings)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the reminders are sent in this many rounds, each a baseline run and a dispatch "
        "run in turn (5), so a change in machine load hits both alike",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, dispatch everything again under cProfile and print where time goes",
    )
    parser.add_argument(
        "--stock-sink",
        action="store_true",
        help="use tests/smtp_sink.py as it is, in this process, parsing each message before "
        "answering (adds the same ~4 ms to every email of both runs)",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {DATABASE} database")
    args = parser.parse_args()
    if args.count < 1 or args.plans < 1 or not 1 <= args.rounds <= args.count:
        parser.error("--count and --plans must be at least 1, --rounds between 1 and --count")

    with bench_database(DATABASE, keep=args.keep_db):
        return run(args)


def run(args: argparse.Namespace) -> int:
    from django.conf import settings

    from aftercare.models import Reminder, ReminderStatus, SentMessage

    if args.batch_size:
        settings.REMINDER_BATCH_SIZE = args.batch_size
    without_first_reminder_task()

    started = time.perf_counter()
    expected_ids, cutoffs = create_reminders(count=args.count, plans=args.plans, rounds=args.rounds)
    print(
        f"set-up: {args.count} due reminders over {args.plans} plans "
        f"in {time.perf_counter() - started:.1f}s"
    )

    with smtp_sink(parse_on_receipt=args.stock_sink) as sink:
        baseline, dispatch = measure(sink, cutoffs)
        not_sent = Reminder.objects.exclude(status=ReminderStatus.SENT).count()
        copies = SentMessage.objects.count()
        if args.profile:
            sink.clear()
            reset_reminders()
            profile_dispatch()

    ratio = dispatch.rate / baseline.rate
    problems = []
    for name, side in (("baseline", baseline), ("dispatch", dispatch)):
        arrived = set(side.arrived)
        if arrived != expected_ids:
            missing = len(expected_ids - arrived)
            problems.append(f"{name}: {missing} messages did not arrive at the sink")
        if len(side.arrived) != len(arrived):
            problems.append(f"{name}: {len(side.arrived) - len(arrived)} messages arrived twice")
    if not_sent:
        problems.append(f"{not_sent} reminder rows are not `sent` after dispatch")
    if copies != args.count:
        problems.append(f"{copies} SentMessage rows, expected {args.count}")
    if dispatch.errors:
        problems.append(f"dispatch errors: {dispatch.errors[:3]}")

    summary(
        "bench/dispatch.py",
        [
            (
                "reminders",
                f"{args.count} over {args.plans} plans, batch size {settings.REMINDER_BATCH_SIZE}",
            ),
            ("rounds", f"{args.rounds}, baseline and dispatch in turn"),
            ("baseline", baseline.describe()),
            ("dispatch", dispatch.describe()),
            (
                "dispatch queries",
                f"{dispatch.queries} ({dispatch.queries / args.count:.2f} per email)",
            ),
            ("ratio", f"{ratio:.2f} (dispatch rate / baseline rate)"),
            ("goal", f">= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}"),
            ("checks", "all arrived, all rows sent" if not problems else "; ".join(problems)),
        ],
    )
    return 1 if problems else 0


@dataclass
class Side:
    """What one of the two ways of sending did, summed over the rounds."""

    count: int = 0
    seconds: float = 0.0
    queries: int = 0
    arrived: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def describe(self) -> str:
        per_email = self.seconds / self.count * 1000
        return (
            f"{self.count} emails in {self.seconds:.2f}s = "
            f"{self.rate:.0f} emails/s ({per_email:.1f} ms/email)"
        )


def create_reminders(*, count: int, plans: int, rounds: int) -> tuple[set[str], list[datetime]]:
    """Plans made the real way (plan_create, link_issue), then `count` due reminders.

    Reminder i belongs to plan i % plans and copies that plan's planned reminders
    in turn (label, Markdown, planned time), so each email has real content.
    The reminders fall into `rounds` consecutive groups an hour apart, all in the
    past: dispatch_due(now=cutoff) sends exactly one group.
    Returns the Message-IDs that must reach the sink, and each group's cutoff.
    """
    from django.db import transaction
    from django.utils import timezone

    from aftercare.links import link_issue
    from aftercare.models import Reminder
    from aftercare.planner.planning import plan_from_dict
    from aftercare.plans.services import plan_create
    from tests.factories import (
        ClinicFactory,
        PatientFactory,
        TreatmentFactory,
        UserFactory,
    )

    now = timezone.now()
    made = []
    with transaction.atomic():
        clinics = [ClinicFactory() for _ in range(CLINICS)]
        practitioners = [UserFactory() for _ in clinics]
        for index in range(plans):
            clinic = clinics[index % CLINICS]
            treatment = TreatmentFactory(
                patient=PatientFactory(clinic=clinic),
                clinic=clinic,
                practitioner=practitioners[index % CLINICS],
                performed_at=now - timedelta(hours=rounds + 2),
            )
            plan = plan_create(treatment=treatment, now=now)
            link_issue(plan=plan)
            made.append((plan, plan_from_dict(plan.content).reminders))
        # plan_create scheduled the plans' own reminders: replace them with ours.
        Reminder.objects.all().delete()

        first_due = now - timedelta(hours=rounds + 1)
        cutoffs = [first_due + timedelta(hours=r, minutes=30) for r in range(rounds)]
        rows = []
        for i in range(count):
            plan, planned = made[i % plans]
            moment = planned[(i // plans) % len(planned)]
            rows.append(
                Reminder(
                    plan=plan,
                    patient_id=plan.treatment.patient_id,
                    kind=f"bench-{i}",
                    label=moment.label,
                    covers=moment.summary_md,
                    day_number=moment.day_number,
                    due_at=moment.send_at,
                    next_attempt_at=first_due
                    + timedelta(hours=i * rounds // count, milliseconds=i),
                    message_id=f"<bench-{i}@bench.localhost>",
                )
            )
        Reminder.objects.bulk_create(rows, batch_size=2000)
    return {row.message_id for row in rows}, cutoffs


def measure(sink, cutoffs: list[datetime]) -> tuple[Side, Side]:
    """Send each group twice, once by the plain loop and once by dispatch_due.

    Rounds alternate which goes first, and the sink is emptied after every run so
    each side's arrivals are checked on their own.
    """
    groups = prepare_baseline(cutoffs)
    baseline, dispatch = Side(), Side()
    for number, (cutoff, group) in enumerate(zip(cutoffs, groups, strict=True)):
        runs = [
            (baseline, lambda group=group: send_plainly(group)),
            (dispatch, lambda cutoff=cutoff: send_by_dispatch(cutoff)),
        ]
        if number % 2:
            runs.reverse()
        figures = []
        for side, send in runs:
            with count_queries() as queries:
                started = time.perf_counter()
                sent, errors = send()
                seconds = time.perf_counter() - started
            side.count += sent
            side.seconds += seconds
            side.queries += queries[0]
            side.errors.extend(errors)
            # SMTP answers DATA only once the sink holds the message: nothing is in flight.
            side.arrived.extend(sink.message_ids())
            sink.clear()
            figures.append(f"{'baseline' if side is baseline else 'dispatch'} {seconds:.1f}s")
        print(f"round {number + 1}/{len(cutoffs)}: {len(group)} emails, " + ", ".join(figures))
    return baseline, dispatch


def prepare_baseline(cutoffs: list[datetime]) -> list[list[tuple]]:
    """Untimed: each group's rows, loaded as send_claimed loads them, with their plan's data.

    The per-plan data (parsed plan, link URLs) comes from the dispatch's own helper,
    once per plan, so both sides send identical emails whatever the URLs look like.
    """
    from django.utils import timezone

    from aftercare.delivery.dispatch import _plan_links
    from aftercare.delivery.emails import reminder_email
    from aftercare.links import link_current
    from aftercare.models import Reminder

    reminders = Reminder.objects.select_related("patient", "plan__treatment__clinic").order_by(
        "next_attempt_at", "id"
    )
    now = timezone.now()
    plans: dict[int, tuple] = {}
    groups: list[list[tuple]] = [[] for _ in cutoffs]
    for reminder in reminders:
        if reminder.plan_id not in plans:
            link = link_current(plan=reminder.plan, now=now)
            plan, _token, plan_url, unsubscribe_url = _plan_links(reminder.plan, link)
            plans[reminder.plan_id] = (plan, plan_url, unsubscribe_url)
        groups[bisect.bisect_left(cutoffs, reminder.next_attempt_at)].append(
            (reminder, *plans[reminder.plan_id])
        )
    # Warm the template cache so neither side pays for compiling templates.
    reminder, plan, plan_url, unsubscribe_url = groups[0][0]
    reminder_email(reminder, plan=plan, plan_url=plan_url, unsubscribe_url=unsubscribe_url)
    return groups


def send_plainly(group: list[tuple]) -> tuple[int, list[str]]:
    """The baseline: render each email and send it over one connection; nothing written."""
    from django.core.mail import get_connection

    from aftercare.delivery.emails import reminder_email

    connection = get_connection(fail_silently=False)
    connection.open()
    for reminder, plan, plan_url, unsubscribe_url in group:
        rendered = reminder_email(
            reminder, plan=plan, plan_url=plan_url, unsubscribe_url=unsubscribe_url
        )
        if connection.send_messages([rendered.message]) != 1:
            raise RuntimeError(f"baseline: {reminder.message_id} was not sent")
    connection.close()
    return len(group), []


def send_by_dispatch(cutoff: datetime) -> tuple[int, list[str]]:
    from aftercare.delivery.dispatch import dispatch_due

    result = dispatch_due(now=cutoff)
    return result.sent, result.errors


class count_queries:  # noqa: N801 - used like a function
    """Count the SQL statements run inside the block (cheaper than DEBUG's query log)."""

    def __enter__(self) -> list[int]:
        from django.db import connection

        self.counter = [0]

        def wrapper(execute, sql, params, many, context):
            self.counter[0] += 1
            return execute(sql, params, many, context)

        self._cm = connection.execute_wrapper(wrapper)
        self._cm.__enter__()
        return self.counter

    def __exit__(self, *exc_info: object) -> None:
        self._cm.__exit__(*exc_info)


def reset_reminders() -> None:
    from django.db.models import F

    from aftercare.models import Reminder, ReminderStatus, SentMessage

    SentMessage.objects.all().delete()
    Reminder.objects.update(
        status=ReminderStatus.PENDING,
        lease_token=None,
        sent_at=None,
        attempts=0,
        next_attempt_at=F("created_at") - timedelta(hours=1),
    )


def profile_dispatch() -> None:
    from django.utils import timezone

    from aftercare.delivery.dispatch import dispatch_due

    profiler = cProfile.Profile()
    profiler.enable()
    result = dispatch_due(now=timezone.now())
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(35)
    print(f"\n== cProfile of dispatch_due ({result.sent} sent; timings inflated by profiling) ==")
    print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
