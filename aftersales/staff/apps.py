from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "aftersales.staff"
    label = "staff"
    verbose_name = _("Staff qualifications")

    def ready(self) -> None:
        # The outbox (a lower layer) keeps its templates in code; the staff alerts add theirs at start-up.
        from aftersales.staff import messages

        messages.register()
