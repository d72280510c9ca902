"""`aftersales reminders_sweep`: schedule due reminders and send today's (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.reminders.services import reminder_sweep


class Command(BaseCommand):
    help = "Schedule the reminders that fall due and send those whose day has come. Safe to rerun."

    def handle(self, *args: Any, **options: Any) -> None:
        for key, value in reminder_sweep().as_dict().items():
            self.stdout.write(f"{key}: {value}")
