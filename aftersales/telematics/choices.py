"""The telematics app's kinds: the rules' conditions and actions, and the GB/T 32960.3 general alarm flags."""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    """What a rule looks at in an event (the threshold's meaning is given with each)."""

    BATTERY_LOW = "battery_low", _("Battery low (SOC below the threshold, %)")
    INSULATION_FAULT = "insulation_fault", _("Insulation fault (resistance below the threshold, kΩ)")
    DTC_FAMILY = "dtc_family", _("Fault code family (codes starting with the prefix)")
    ALARM_LEVEL = "alarm_level", _("Alarm level (at or above the threshold, 1–3)")


class RuleAction(models.TextChoices):
    """What a rule does when it opens an alert; every action also puts the alert in the store's inbox."""

    ALERT = "alert", _("Alert the store's advisors and managers")
    SUGGEST_BOOKING = "suggest_booking", _("Alert, and suggest a booking to the owner")
    RESCUE = "rescue", _("Alert, and open a roadside-rescue lead")


# The general alarm flags of GB/T 32960.3-2016 (table 18, bits 0–18), by the names the endpoint accepts.
ALARM_FLAGS: dict[str, Promise] = {
    "temperature_difference": _("Temperature difference"),
    "battery_high_temperature": _("Battery high temperature"),
    "pack_over_voltage": _("Pack over-voltage"),
    "pack_under_voltage": _("Pack under-voltage"),
    "soc_low": _("SOC low"),
    "cell_over_voltage": _("Cell over-voltage"),
    "cell_under_voltage": _("Cell under-voltage"),
    "soc_high": _("SOC too high"),
    "soc_jump": _("SOC jump"),
    "pack_mismatch": _("Energy storage mismatch"),
    "cell_consistency": _("Poor cell consistency"),
    "insulation": _("Insulation fault"),
    "dcdc_temperature": _("DC-DC temperature"),
    "brake_system": _("Brake system"),
    "dcdc_status": _("DC-DC status"),
    "motor_controller_temperature": _("Drive-motor controller temperature"),
    "hv_interlock": _("High-voltage interlock"),
    "motor_temperature": _("Drive-motor temperature"),
    "pack_overcharge": _("Energy storage overcharge"),
}
