from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a member of staff does; decides navigation and permissions (SPEC §1)."""

    ADVISOR = "advisor", _("Service advisor")
    TECHNICIAN = "technician", _("Technician")
    FOREMAN = "foreman", _("Workshop foreman")
    AGENT = "agent", _("Customer-service agent")
    PARTS_CLERK = "parts_clerk", _("Parts clerk")
    DRIVER = "driver", _("Pick-up driver")
    MANAGER = "manager", _("Store manager")
    GROUP_MANAGER = "group_manager", _("Group / regional manager")
    # The group's service-quality department (服务质量部): audit plans, audits, the SOP library.
    QUALITY = "quality", _("Quality department")
    # An auditor from outside the stores (a mystery shopper, 神秘顾客, often from an agency): their own audits only.
    AUDITOR = "auditor", _("External auditor")
    # The group's personal-information protection officer (个人信息保护负责人, PIPL art. 52): customers' rights
    # requests, retention and purges, the audit trail.
    PRIVACY_OFFICER = "privacy_officer", _("Privacy officer")
    ADMIN = "admin", _("Administrator")


# Roles whose membership is for the whole dealer group rather than one store.
GROUP_ROLES = frozenset({Role.GROUP_MANAGER, Role.QUALITY, Role.AUDITOR, Role.PRIVACY_OFFICER, Role.ADMIN})


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BayCapability(models.TextChoices):
    GENERAL = "general", _("General repair")
    MAINTENANCE = "maintenance", _("Quick maintenance")
    NEV_HIGH_VOLTAGE = "nev_hv", _("NEV high-voltage")
    BODYWORK = "bodywork", _("Bodywork")
    PAINT = "paint", _("Paint booth")
    ALIGNMENT = "alignment", _("Wheel alignment")
    DIAGNOSIS = "diagnosis", _("Diagnosis")


class TechnicianGrade(models.TextChoices):
    """The national vocational qualification of a motor-vehicle maintenance worker (汽车维修工), lowest first:
    level 5 (初级工) to level 1 (高级技师)."""

    JUNIOR = "junior", _("Junior (level 5)")
    INTERMEDIATE = "intermediate", _("Intermediate (level 4)")
    SENIOR = "senior", _("Senior (level 3)")
    TECHNICIAN = "technician", _("Technician (level 2)")
    SENIOR_TECHNICIAN = "senior_technician", _("Senior technician (level 1)")


# Higher is more qualified; "" (not graded) is below every grade.
GRADE_RANK: dict[str, int] = {"": 0, **{grade: rank for rank, grade in enumerate(TechnicianGrade.values, start=1)}}
