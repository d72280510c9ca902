from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EhrConfig(AppConfig):
    name = "aftersales.ehr"
    label = "ehr"
    verbose_name = _("Repair e-health record")
