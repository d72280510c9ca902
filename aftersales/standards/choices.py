from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcedureStep(models.TextChoices):
    """The steps of the service process that have a standard operating procedure (SOP, 标准作业程序)."""

    BOOKING = "booking", _("Booking")
    RECEPTION = "reception", _("Reception and walk-around")
    ESTIMATE = "estimate", _("Estimate")
    REPAIR = "repair", _("Repair")
    QC = "qc", _("Quality check")
    DELIVERY = "delivery", _("Delivery")
    FOLLOW_UP = "follow_up", _("Follow-up call")
    COMPLAINT = "complaint", _("Complaint handling")


class VersionStatus(models.TextChoices):
    """A version is written as a draft and published once approved; the current one is the latest published
    version whose effective date has come (a newer published one supersedes it)."""

    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
