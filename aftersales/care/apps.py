from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftersales.care"
    label = "care"
    verbose_name = _("Care playbooks")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the care playbooks add theirs at start-up.
        from aftersales.care import messages

        messages.register()
