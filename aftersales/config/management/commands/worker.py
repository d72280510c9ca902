"""`aftersales worker`: the job worker (Huey's consumer) for every app's `tasks.py`.

Runs the queued tasks (outbox deliveries) and the periodic sweeps.  On start it clears the task locks a
killed worker left behind and queues at once every sweep that the scheduler would otherwise only run at
its next slot, so work a dead worker left half-done is taken up straight away.  Ctrl+C (SIGINT) stops
after the running tasks finish; SIGTERM stops at once.  Either way nothing is lost: the sweeps find what is
left in the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import autodiscover_modules


def storage_description(huey: Any) -> str:
    """Where the queue lives, without a password."""
    storage = huey.storage
    filename = getattr(storage, "filename", None)
    if filename:
        return f"SQLite {filename}"
    url = (settings.HUEY.get("connection") or {}).get("url", "") if isinstance(settings.HUEY, dict) else ""
    if url:
        parts = urlsplit(url)
        if parts.password:
            host = parts.hostname or ""
            netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
            url = urlunsplit(parts._replace(netloc=netloc))
        return f"Redis {url}"
    return type(storage).__name__


def schedule_description(task: Any) -> str:
    """A periodic task's schedule in words, read from its validator over one day."""
    start = dt.datetime(2026, 1, 5)  # noqa: DTZ001 - Huey's crontabs take naive times (a Monday)
    minutes = [m for m in range(24 * 60) if task.validate_datetime(start + dt.timedelta(minutes=m))]
    if not minutes:
        return "not daily"
    gaps = {b - a for a, b in zip(minutes, minutes[1:], strict=False)} | {24 * 60 - minutes[-1] + minutes[0]}
    if len(gaps) == 1:
        gap = gaps.pop()
        return "every minute" if gap == 1 else f"every {gap} minutes"
    return f"{len(minutes)} times a day"


class Command(BaseCommand):
    help = "Run the job worker: queued tasks and the periodic sweeps (Ctrl+C stops after the running tasks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, help="worker threads (default 2)")
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not schedule the periodic sweeps (for extra consumers when another one schedules them)",
        )
        parser.add_argument(
            "--no-catch-up", action="store_true", help="do not queue the sweeps at start, only at their times"
        )
        parser.add_argument("--quiet", action="store_true", help="log warnings and errors only")

    def handle(self, *args: Any, **options: Any) -> None:
        from huey.consumer_options import ConsumerConfig
        from huey.contrib.djhuey import HUEY

        if HUEY.immediate:
            raise CommandError("Huey is in immediate mode here (tasks run where they are queued): nothing to consume.")
        autodiscover_modules("tasks")  # registers every app's tasks and their locks before the consumer starts

        consumer_options = dict(settings.HUEY.get("consumer", {})) if isinstance(settings.HUEY, dict) else {}
        if options["workers"] is not None:
            if options["workers"] < 1:
                raise CommandError("--workers must be at least 1.")
            consumer_options["workers"] = options["workers"]
        if options["no_periodic"]:
            consumer_options["periodic"] = False
        consumer_options["verbose"] = False if options["quiet"] else None
        config = ConsumerConfig(**consumer_options)
        config.validate()
        huey_logger = logging.getLogger("huey")
        if not huey_logger.handlers:
            config.setup_logger(huey_logger)
            huey_logger.propagate = False  # the root logger's console handler would print each line twice
            for name in ("aftersales.jobs", "aftersales.messaging"):  # the tasks' own lines, in the same format
                logging.getLogger(name).handlers = list(huey_logger.handlers)

        def label(task: Any) -> str:
            return HUEY._registry.task_to_string(type(task))

        periodic = sorted(HUEY._registry.periodic_tasks, key=label)
        self.stdout.write(f"Job worker: queue {HUEY.name!r} in {storage_description(HUEY)}")
        sweeps = "on" if config.periodic else "off"
        self.stdout.write(f"  {config.workers} {config.worker_type} workers, periodic sweeps {sweeps}")
        for name in sorted(HUEY._registry._registry):
            self.stdout.write(f"  task {name}")
        for task in periodic:
            self.stdout.write(f"  sweep {label(task)}: {schedule_description(task)}")
        self.stdout.flush()

        consumer = HUEY.create_consumer(**config.values)  # clears the locks a killed worker left (flush_locks)
        if config.periodic and not options["no_catch_up"]:
            now = HUEY._get_timestamp()
            # A killed worker's own catch-ups may still wait in the queue: queueing them again would run two at once.
            waiting = {label(task) for task in HUEY.pending()}
            for task in periodic:
                if label(task) in waiting:
                    continue
                if not task.validate_datetime(now):  # the scheduler queues those due this minute itself
                    HUEY.enqueue(task)
                    self.stdout.write(f"  catch-up: queued {label(task)}")
        self.stdout.flush()
        consumer.run()
