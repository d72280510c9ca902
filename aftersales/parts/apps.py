from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartsConfig(AppConfig):
    name = "aftersales.parts"
    label = "parts"
    verbose_name = _("Parts")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the parts ledger adds its alert at start-up.
        from aftersales.parts import messages

        messages.register()
