from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelematicsConfig(AppConfig):
    name = "aftersales.telematics"
    label = "telematics"
    verbose_name = _("Connected-car events")
