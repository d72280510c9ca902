from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StandardsConfig(AppConfig):
    name = "aftersales.standards"
    label = "standards"
    verbose_name = _("Standard operating procedures")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the SOP alerts add theirs at start-up.
        from aftersales.standards import messages

        messages.register()
