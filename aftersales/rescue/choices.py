"""The rescue app's choices."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoadType(models.TextChoices):
    CITY = "city", _("City road")
    COUNTY = "county", _("County road")
    EXPRESSWAY = "expressway", _("Expressway")


class RescueSource(models.TextChoices):
    CUSTOMER = "customer", _("Customer's phone page")
    STAFF = "staff", _("Staff")
    CONNECTED_CAR = "connected_car", _("Connected-car alarm")


class RescueStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for a store")
    MATCHED = "matched", _("Store matched")
    DISPATCHED = "dispatched", _("Crew on the way")
    ON_SITE = "on_site", _("Crew on site")
    COMPLETED = "completed", _("Rescue completed")
    CANCELLED = "cancelled", _("Rescue cancelled")
    HANDED_12122 = "handed_12122", _("Handed to 12122")


# A store's crews are busy with these requests (its load); the board shows these and the waiting ones.
BUSY = (RescueStatus.MATCHED, RescueStatus.DISPATCHED, RescueStatus.ON_SITE)
OPEN = (RescueStatus.REQUESTED, *BUSY)
