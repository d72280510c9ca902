"""The kinds of certificate and training result (the grades themselves are organisation.choices.TechnicianGrade)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CertificateKind(models.TextChoices):
    """What a certificate qualifies for.  The low-voltage electrician's special-operations certificate
    (低压电工特种作业操作证) is what the law asks of anyone working on a high-voltage system; the OEM tiers are
    the manufacturers' own high-voltage authorisations (tier 1 the lowest)."""

    HV_ELECTRICIAN = "hv_electrician", _("Low-voltage electrician certificate (HV work)")
    OEM_HV_1 = "oem_hv_1", _("OEM high-voltage tier 1")
    OEM_HV_2 = "oem_hv_2", _("OEM high-voltage tier 2")
    OEM_HV_3 = "oem_hv_3", _("OEM high-voltage tier 3")
    OTHER = "other", _("Other certificate")


# The certificate without which nobody is dispatched to a line that touches the high-voltage system.
HV_KINDS: frozenset[str] = frozenset({CertificateKind.HV_ELECTRICIAN})


class TrainingResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Not passed")
    ATTENDED = "attended", _("Attended (no exam)")
