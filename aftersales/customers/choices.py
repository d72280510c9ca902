from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    UNKNOWN = "", _("Not given")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Powertrain(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HEV = "hev", _("Hybrid (HEV)")
    PHEV = "phev", _("Plug-in hybrid (PHEV)")
    EREV = "erev", _("Range-extended EV (EREV)")
    BEV = "bev", _("Battery electric (BEV)")


# New-energy vehicles (新能源汽车) in China's sense: plug-in, range-extended and battery electric.
NEV_POWERTRAINS = frozenset({Powertrain.PHEV, Powertrain.EREV, Powertrain.BEV})


class Tier(models.TextChoices):
    """The RFM tiers of SPEC §5, assigned by the crm app's nightly job (first matching rule wins: D, C, A, B)."""

    A = "A", _("A · loyal")
    B = "B", _("B · potential")
    C = "C", _("C · new")
    D = "D", _("D · churn risk")


class ConsentPurpose(models.TextChoices):
    """Purposes that need the customer's consent (SPEC §10); service notices rest on the contract instead."""

    MARKETING = "marketing", _("Marketing and care offers")
    SURVEYS = "surveys", _("Satisfaction surveys")
    VEHICLE_DATA = "vehicle_data", _("Vehicle location and connected-car data")


class ConsentChannel(models.TextChoices):
    DESK = "desk", _("Signed at the service desk")
    CUSTOMER_LINK = "customer_link", _("Customer's own phone page")
    PHONE = "phone", _("Phone call (noted by staff)")
    WECHAT = "wechat", _("WeChat")
    MESSAGE_REPLY = "message_reply", _("Reply to a text or WeChat message")
    API = "api", _("Imported through the API")
