from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "aftersales.reminders"
    label = "reminders"
    verbose_name = _("Reminders")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the reminders add theirs at start-up.
        from aftersales.reminders import messages

        messages.register()
