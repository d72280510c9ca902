"""`aftersales service_efficiency_sweep`: warn foremen about jobs over standard time (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.service.services import efficiency_sweep


class Command(BaseCommand):
    help = "Send the efficiency warning for jobs whose work time exceeds standard time by more than the setting."

    def handle(self, *args: Any, **options: Any) -> None:
        warned = efficiency_sweep()
        self.stdout.write(self.style.SUCCESS(f"{warned} efficiency warnings sent."))
