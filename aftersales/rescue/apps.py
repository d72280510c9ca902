from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RescueConfig(AppConfig):
    name = "aftersales.rescue"
    label = "rescue"
    verbose_name = _("Roadside rescue")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the rescue alerts add theirs at start-up.
        from aftersales.rescue import messages

        messages.register()
