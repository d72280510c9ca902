"""`aftersales feedback_sweep`: create due follow-ups and escalate breached clocks (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.feedback.services import feedback_sweep


class Command(BaseCommand):
    help = (
        "Create the follow-up of every newly delivered order and escalate breached recovery, complaint and "
        "suggestion clocks. Safe to rerun: nothing is created or sent twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = feedback_sweep()
        for key, value in result.as_dict().items():
            self.stdout.write(f"{key}: {value}")
