from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "aftersales.analytics"
    label = "analytics"
    verbose_name = _("Management by numbers")

    def ready(self) -> None:
        # The early warnings' inbox texts join the outbox's templates; the CAPA pages of feedback (a layer below)
        # learn the catalogue's KPIs and the page that verifies a CAPA from it through their hook.
        from django.urls import reverse

        from aftersales.analytics import catalogue, warnings
        from aftersales.feedback.services import capa_kpi_catalogue_register

        warnings.register_templates()
        capa_kpi_catalogue_register(
            labels=lambda: {kpi.key: kpi.label for kpi in catalogue.all_kpis()},
            verify_url=lambda pk: reverse("analytics:capa-verify", args=[pk]),
        )
