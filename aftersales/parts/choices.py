from django.db import models
from django.utils.translation import gettext_lazy as _


class PartCategory(models.TextChoices):
    """What kind of part it is, as the repair rules name them (原厂 / 同质 / 修复 / 旧件).  The values of the first
    three are the estimate line's old part grades, so lines written before the catalogue keep their meaning."""

    OEM = "oem", _("OEM (原厂)")
    EQUIVALENT = "brand", _("Equivalent quality (同质)")
    REPAIRED = "repaired", _("Repaired (修复)")
    USED = "used", _("Used (旧件)")
    OTHER = "other", _("Other")


# A repaired or used part is fitted only when the customer agreed to exactly that on the estimate line.
CONSENT_NEEDED = frozenset({PartCategory.REPAIRED, PartCategory.USED})


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Goods receipt")
    ISSUE = "issue", _("Issued to an order")
    RETURN = "return", _("Returned from an order")
    ADJUSTMENT = "adjustment", _("Stocktake adjustment")


class RemovedPartDisposition(models.TextChoices):
    """What became of the part taken off the car (旧件去向)."""

    RETURNED = "returned", _("Returned to the customer")
    WAIVED = "waived", _("Customer waived it")
