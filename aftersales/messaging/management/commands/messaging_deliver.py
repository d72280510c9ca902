"""`aftersales messaging_deliver [--limit N] [--dry-run]`: send every due outbox message now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.core import clock
from aftersales.messaging.selectors import message_due_count
from aftersales.messaging.services import outbox_deliver_due


class Command(BaseCommand):
    help = "Deliver the outbox messages that are due (pending and past their next attempt time). Safe to rerun."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="at most this many messages (default 100)")
        parser.add_argument("--dry-run", action="store_true", help="only count the due messages")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        if options["dry_run"]:
            due = message_due_count(now=clock.now())
            self.stdout.write(f"{due} messages are due; nothing sent (dry run).")
            return
        sent = outbox_deliver_due(limit=options["limit"])
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} messages."))
