"""Named values of the service process (SPEC §3).  Code names in English, labels translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The part line's grade is the catalogue's part category (parts app): one list of kinds of part.
from aftersales.parts.choices import PartCategory as PartGrade  # noqa: F401 - re-exported for the service app


class ServiceType(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Repair")
    INSPECTION = "inspection", _("Inspection")
    WARRANTY = "warranty", _("Warranty")
    BODYWORK = "bodywork", _("Bodywork and paint")
    NEV_CHECK = "nev_check", _("NEV check")


class BookingChannel(models.TextChoices):
    ONLINE = "online", _("Online (customer's phone)")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    WALK_IN = "walk_in", _("Walk-in")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ARRIVED = "arrived", _("Arrived")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


class PickupStatus(models.TextChoices):
    """Where a picked-up car is (取送车); empty on a booking without pick-up.  Moves: `transitions.PICKUP`."""

    PLANNED = "planned", _("Pick-up planned")
    COLLECTED = "collected", _("Collected by the driver")  # the driver has the car and drives it to the store
    AT_STORE = "at_store", _("At the store")  # checked in: the repair order is open
    DELIVERED_BACK = "delivered_back", _("Delivered back")  # the driver has brought it back to the customer


PICKUP_BADGES: dict[str, str] = {
    PickupStatus.PLANNED: "secondary",
    PickupStatus.COLLECTED: "primary",
    PickupStatus.AT_STORE: "info",
    PickupStatus.DELIVERED_BACK: "success",
}


class RepairOrderStatus(models.TextChoices):
    """The states of SPEC §3.4; `RECEPTION` covers arrival, inspection and the estimate before work."""

    RECEPTION = "reception", _("Reception")
    WAITING = "waiting", _("Waiting for a bay")
    IN_BAY = "in_bay", _("In bay")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_PARTS = "waiting_parts", _("Waiting for parts")
    QC = "qc", pgettext_lazy("repair order state", "Quality check")
    WASHING = "washing", _("Washing")
    READY = "ready", _("Ready for pick-up")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


STATUS_BADGES: dict[str, str] = {
    RepairOrderStatus.RECEPTION: "secondary",
    RepairOrderStatus.WAITING: "info",
    RepairOrderStatus.IN_BAY: "primary",
    RepairOrderStatus.IN_PROGRESS: "primary",
    RepairOrderStatus.WAITING_PARTS: "warning",
    RepairOrderStatus.QC: "dark",
    RepairOrderStatus.WASHING: "info",
    RepairOrderStatus.READY: "success",
    RepairOrderStatus.DELIVERED: "success",
    RepairOrderStatus.CANCELLED: "light",
}


class LineKind(models.TextChoices):
    LABOUR = "labour", _("Labour")
    PART = "part", _("Part")
    FEE = "fee", _("Fee")


class EstimateStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent to the customer")
    DECIDED = "decided", _("Decided")


class LineDecision(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class DecisionChannel(models.TextChoices):
    LINK = "link", _("Customer's link")
    DESK = "desk", _("Signature at the desk")
    PHONE = "phone", _("Phone call noted by the advisor")


class AttachmentPurpose(models.TextChoices):
    INSPECTION = "inspection", _("Initial inspection")
    EVIDENCE = "evidence", _("Evidence for an estimate line")


class DeferredStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DISMISSED = "dismissed", _("Dismissed")


# The parts of a car a damage mark can be put on (the outline drawing on the inspection form).
DAMAGE_ZONES: tuple[tuple[str, object], ...] = (
    ("front_bumper", _("Front bumper")),
    ("bonnet", _("Bonnet")),
    ("windscreen", _("Windscreen")),
    ("roof", _("Roof")),
    ("boot", _("Boot / tailgate")),
    ("rear_bumper", _("Rear bumper")),
    ("left_front_door", _("Left front door")),
    ("left_rear_door", _("Left rear door")),
    ("right_front_door", _("Right front door")),
    ("right_rear_door", _("Right rear door")),
    ("left_front_wing", _("Left front wing")),
    ("right_front_wing", _("Right front wing")),
    ("left_rear_wing", _("Left rear wing")),
    ("right_rear_wing", _("Right rear wing")),
    ("wheels", _("Wheels and tyres")),
    ("mirrors", _("Mirrors")),
)

DAMAGE_KINDS: tuple[tuple[str, object], ...] = (
    ("scratch", _("Scratch")),
    ("dent", _("Dent")),
    ("crack", _("Crack")),
    ("chip", _("Stone chip")),
    ("missing", _("Missing part")),
)
