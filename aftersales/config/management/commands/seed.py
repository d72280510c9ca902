"""`aftersales seed`: deterministic, realistic demo data, inserted in bulk with a progress bar."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Q
from tqdm import tqdm

from aftersales.analytics.demo import seed_analytics
from aftersales.audits.demo import flush_audits, seed_audits
from aftersales.campaigns.demo import seed_campaigns_finish, seed_campaigns_plan
from aftersales.campaigns.models import Campaign
from aftersales.care.demo import seed_care
from aftersales.core import clock
from aftersales.core.models import AuditEntry
from aftersales.crm.services import tiers_compute
from aftersales.customers.demo import seed_customers
from aftersales.customers.models import Consent, ConsentEvent, Customer, Vehicle
from aftersales.feedback import demo as feedback_demo
from aftersales.feedback import services as feedback_services
from aftersales.messaging.models import OutboxMessage
from aftersales.organisation.demo import DEMO_USERS, seed_organisation
from aftersales.organisation.models import ApiToken, DealerGroup, SettingChange, SettingValue, Store
from aftersales.privacy.demo import flush_privacy_requests, seed_privacy_requests
from aftersales.reminders.demo import seed_reminders
from aftersales.rescue.demo import flush_rescue, seed_rescue
from aftersales.service.demo import flush_service, progress_total, seed_service
from aftersales.service.demo_parts import seed_parts
from aftersales.staff.demo import seed_staff
from aftersales.standards.demo import flush_standards, seed_standards
from aftersales.telematics.demo import seed_telematics


def _positive(name: str, low: int, high: int):  # noqa: ANN202 - an argparse type
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError as exc:
            raise ValueError(f"--{name} must be a whole number") from exc
        if not low <= value <= high:
            raise ValueError(f"--{name} must be between {low} and {high}")
        return value

    parse.__name__ = f"--{name} ({low}–{high})"
    return parse


def _date(raw: str) -> dt.date:
    return dt.date.fromisoformat(raw)


_date.__name__ = "--today (YYYY-MM-DD)"


def _analyse() -> None:
    """Fresh statistics for PostgreSQL's planner after the bulk inserts.  Without them it plans the new tables
    as nearly empty (autovacuum catches up only later), e.g. the customer's page then walked a primary key
    backwards through every event (docs/performance.md).  SQLite plans from its indexes and needs nothing."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _restart_ids() -> None:
    """Ids from 1 again in the empty tables whose ids decide demo data: the campaign's arms are a hash of the
    campaign's and the customer's ids, and the campaign's visits follow its arms, so the same arguments give the
    same history only when those ids repeat (a flushed PostgreSQL database would otherwise go on counting)."""
    empty = [model for model in (Customer, Campaign) if not model._base_manager.exists()]
    sequences = [{"table": model._meta.db_table, "column": model._meta.pk.column} for model in empty]
    statements = connection.ops.sequence_reset_by_name_sql(no_style(), sequences)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Command(BaseCommand):
    help = "Fill an empty database with realistic demo data (deterministic for a given --seed and --today)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stores", type=_positive("stores", 1, 50), default=3, help="stores (default 3)")
        parser.add_argument(
            "--customers",
            type=_positive("customers", 1, 1_000_000),
            default=3000,
            help="customers in all, shared between the stores (default 3000)",
        )
        parser.add_argument(
            "--months", type=_positive("months", 1, 120), default=24, help="months of history (default 24)"
        )
        parser.add_argument("--seed", type=_positive("seed", 0, 2**31), default=2026, help="random seed")
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="the day the history ends (default: today); fix it for identical data",
        )
        parser.add_argument(
            "--flush", action="store_true", help="delete existing stores, customers and demo users first"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if Store.objects.exists() or get_user_model().objects.filter(username="advisor").exists():
            if not options["flush"]:
                raise CommandError(
                    "The database already has stores or demo users. Run with --flush to replace "
                    "them (this deletes every store, customer and demo user)."
                )
            self._flush()
        rng = random.Random(options["seed"])
        today = options["today"] or clock.today()
        # Today's busy day is laid out around "now": the real time, unless a fixed --today asks for identical data.
        now = None if options["today"] else clock.now()
        per_store = max(1, options["customers"] // options["stores"])
        # The campaign's own draws, so they leave the rest of the demo's sequence alone.
        campaign_rng = random.Random(f"campaigns:{options['seed']}")
        with transaction.atomic():
            _restart_ids()
            group, stores, users = seed_organisation(rng=rng, stores=options["stores"])
            with tqdm(
                total=per_store * len(stores),
                desc="customers",
                unit="cust",
                disable=options["no_progress"],
                file=self.stderr._out,
            ) as bar:  # type: ignore[attr-defined]
                count = seed_customers(
                    rng=rng,
                    stores=stores,
                    per_store=per_store,
                    today=today,
                    months=options["months"],
                    progress=bar.update,
                )
            # The finished campaign is sent before the history is built: the visits it brought are history.
            plan = seed_campaigns_plan(rng=campaign_rng, stores=stores, users=users, today=today)
            with tqdm(
                total=progress_total(len(stores)),
                desc="service",
                unit="step",
                disable=options["no_progress"],
                file=self.stderr._out,
            ) as bar:  # type: ignore[attr-defined]

                def step(name: str) -> None:
                    bar.set_postfix_str(name, refresh=False)
                    bar.update()

                service = seed_service(
                    rng=rng,
                    stores=stores,
                    users=users,
                    today=today,
                    months=options["months"],
                    now=now,
                    progress=step,
                    extra_visits=plan.visits,
                )
                step("done")
            with tqdm(
                total=feedback_demo.progress_total(),
                desc="feedback",
                unit="step",
                disable=options["no_progress"],
                file=self.stderr._out,
            ) as bar:  # type: ignore[attr-defined]

                def feedback_step(name: str) -> None:
                    bar.set_postfix_str(name, refresh=False)
                    bar.update()

                feedback = feedback_demo.seed_feedback(
                    rng=rng, stores=stores, users=users, today=today, now=now, progress=feedback_step
                )
            # The SOP library, a store's variant and the CAPA that changed the QC SOP (through feedback's services).
            seed_standards(
                rng=random.Random(f"standards:{options['seed']}"),
                stores=stores,
                users=users,
                today=today,
                capa_services=feedback_services,
            )
            campaigns = seed_campaigns_finish(plan=plan, rng=campaign_rng, stores=stores, users=users, today=today)
            seed_reminders(today=today)  # the first morning sweep: upcoming and today's reminders
        tiers_compute(as_of=today)  # the demo opens with every customer's tier (then the nightly job keeps them)
        seed_care(rng=rng, today=today)  # the past year's recalls from the visit gaps, then the first care sweep
        # Rescue bases at the stores, four weeks of rescues and today's live ones (before the cars' alarms).
        seed_rescue(rng=random.Random(f"rescue:{options['seed']}"), stores=stores, users=users, today=today, now=now)
        # A month of connected-car reports from five EVs, today's alerts among them (its own generator).
        seed_telematics(
            rng=random.Random(f"telematics:{options['seed']}"), stores=stores, users=users, today=today, now=now
        )
        # The parts ledger of the last 90 days: catalogue, receipts, FIFO issues onto the lines (its own generator).
        seed_parts(rng=random.Random(f"parts:{options['seed']}"), stores=stores, users=users, today=today)
        # Technicians' grade histories, certificates (one expiring soon) and training, then the expiry sweep.
        seed_staff(rng=random.Random(f"staff:{options['seed']}"), stores=stores, users=users, today=today)
        # A quarter of audits of every kind for every store, their findings and a CAPA (its own generator).
        seed_audits(rng=random.Random(f"audits:{options['seed']}"), stores=stores, users=users, today=today)
        # Customers' rights requests with their clocks: overdue, in progress, answered, refused (its own generator).
        seed_privacy_requests(rng=random.Random(f"privacy:{options['seed']}"), stores=stores, users=users)
        _analyse()
        # Scorecards (last month drafts, last quarter reviewed) and the last month's early warnings from the
        # catalogue's figures, once the statistics are fresh (PostgreSQL's planner needs them); its own generator,
        # so the rest of the demo's sequence stays as it was.
        analytics = seed_analytics(rng=random.Random(f"analytics:{options['seed']}"), today=today, stores=stores)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {group.name}: {len(stores)} stores, {count} customers, "
                f"{Vehicle.objects.count()} vehicles, {service['appointments']} appointments, "
                f"{service['orders']} repair orders ({service['events']} events, {service['lines']} estimate lines), "
                f"{feedback['follow_ups']} follow-ups, {feedback['responses']} survey responses, "
                f"{feedback['complaints']} complaints, "
                f"{campaigns['members']} campaign members ({campaigns['visits']} visits it brought), "
                f"{analytics['scorecards']} advisor scorecards, {analytics['warnings']} early warnings, "
                f"{options['months']} months of history in {elapsed:.1f} s."
            )
        )

    def _flush(self) -> None:
        with transaction.atomic():
            # Staff are found through their memberships, so collect them before the stores go.
            staff_ids = set(get_user_model().objects.filter(memberships__isnull=False).values_list("id", flat=True))
            flush_audits()  # before the orders, CAPAs and stores its audits and findings name
            flush_privacy_requests()  # its requests protect the customers and stores
            feedback_demo.flush_feedback()  # before the orders and stores its rows protect
            flush_rescue()  # its requests protect the stores
            flush_service()
            flush_standards()  # after the orders and follow-ups that name its versions
            OutboxMessage.objects.all().delete()
            for model in (ConsentEvent, Consent, Vehicle, Customer, SettingChange, SettingValue, ApiToken, AuditEntry):
                model.objects.all().delete()
            Store.objects.all().delete()
            DealerGroup.objects.all().delete()
            get_user_model().objects.filter(
                Q(id__in=staff_ids) | Q(username__in=[username for username, _role, _name in DEMO_USERS])
            ).delete()
