"""The words of customers' rights requests (PIPL arts. 44-47) and of the retention purge."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    ACCESS = "access", _("See my data")  # 查阅 (art. 45)
    COPY = "copy", _("Copy my data")  # 复制 (art. 45)
    CORRECT = "correct", _("Correct my data")  # 更正、补充 (art. 46)
    ERASE = "erase", _("Erase my data")  # 删除 (art. 47)
    WITHDRAW = "withdraw", _("Withdraw consent")  # 撤回同意 (art. 15)
    OBJECT = "object", _("Object to an automated decision")  # 拒绝自动化决策 (art. 24)


class RequestScope(models.TextChoices):
    ALL = "all", _("All my personal data")
    # Deleting vehicle data has a shorter clock (10 working days, the 2021 provisions on automobile data).
    VEHICLE = "vehicle", _("Vehicle data only")


class RequestChannel(models.TextChoices):
    DESK = "desk", _("At the desk or by phone")
    LINK = "link", _("The customer's link")
    API = "api", _("An integration (API)")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")  # identity not yet checked
    IN_PROGRESS = "in_progress", _("In progress")  # identity checked, being worked on
    DONE = "done", _("Answered")
    REFUSED = "refused", _("Refused")  # with the reason the law gives
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS)


class IdentityMethod(models.TextChoices):
    ID_DOCUMENT = "id_document", _("ID document seen at the desk")
    PHONE_CODE = "phone_code", _("Code sent to the phone on record")
    CALL_BACK = "call_back", _("Called back on the phone on record")
    SIGNED_LINK = "signed_link", _("Signed link sent to the customer")


class EscalationLevel(models.TextChoices):
    STORE = "store", _("Store manager")
    GROUP = "group", _("Privacy officer")
