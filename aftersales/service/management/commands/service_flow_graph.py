"""`aftersales service_flow_graph`: the repair order's transition table as a Mermaid diagram (for docs/)."""

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.service.transitions import as_mermaid


class Command(BaseCommand):
    help = "Print the repair order state machine as Mermaid."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(as_mermaid())
