from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelematicsConfig(AppConfig):
    name = "aftersales.telematics"
    label = "telematics"
    verbose_name = _("Connected-car events")

    def ready(self) -> None:
        # The outbox and the reminders are lower layers: this app adds its message texts to the outbox and its daily
        # odometer readings to the reminders' mileage projection at start-up, so neither imports it.
        from aftersales.reminders.selectors import odometer_source_register
        from aftersales.telematics import messages, services

        messages.register()
        odometer_source_register(services.odometer_readings)
