from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "aftersales.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        # Huey's discovery imports only `tasks` modules: the retention job lives in its own module, imported here.
        # The outbox (a lower layer) keeps its templates in code; the rights-request alerts add theirs at start-up.
        from aftersales.privacy import messages, tasks_retention  # noqa: F401

        messages.register()
