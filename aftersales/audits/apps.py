from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "aftersales.audits"
    label = "audits"
    verbose_name = _("Audits")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the audit alerts add theirs at start-up.
        from aftersales.audits import messages

        messages.register()
