"""Appointments, repair orders, estimates, evidence, QC and deferred work (SPEC §3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.customers.models import Customer, Vehicle
from aftersales.organisation.choices import BayCapability, TechnicianGrade
from aftersales.organisation.models import Bay, DealerGroup, Store
from aftersales.parts.choices import RemovedPartDisposition
from aftersales.parts.models import Batch, Movement, Part
from aftersales.service.choices import (
    AppointmentStatus,
    AttachmentPurpose,
    BookingChannel,
    DecisionChannel,
    DeferredStatus,
    EstimateStatus,
    LineDecision,
    LineKind,
    PartGrade,
    PickupStatus,
    RepairOrderStatus,
    ServiceType,
)

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


# The reason recorded when the customer picks one grade of a part and the other is declined with it: stored as this
# msgid (not in the approver's language) and translated where it is shown (`EstimateLine.decline_reason_text`).
ANOTHER_GRADE_CHOSEN = gettext_noop("another grade chosen")


class Slot(BaseModel):
    """A bookable time of a store's day.  `booked` only changes through a conditional UPDATE, so the last
    place can never be taken twice."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["store", "start"]
        # the booking KPIs read a period's slots of every store (the unique (store, start) index starts with the store)
        indexes = [models.Index(fields=["start"], name="service_slot_start_idx")]
        constraints = [
            models.UniqueConstraint(fields=["store", "start"], name="slot_unique_start"),
            models.CheckConstraint(condition=Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="slot_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.start:%Y-%m-%d %H:%M} {self.booked}/{self.capacity}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class AdvisorSlotLoad(models.Model):
    """How many bookings an advisor has in one slot (a customer may choose the advisor)."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="advisor_loads")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("advisor load")
        verbose_name_plural = _("advisor loads")
        constraints = [models.UniqueConstraint(fields=["slot", "advisor"], name="advisor_load_unique")]

    def __str__(self) -> str:
        return f"{self.slot_id}/{self.advisor_id}: {self.booked}"


class Appointment(BaseModel):
    """A booking (预约) of a slot for one vehicle."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(Slot, verbose_name=_("slot"), on_delete=models.PROTECT, related_name="appointments")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="appointments"
    )
    service_type = models.CharField(_("service type"), max_length=16, choices=ServiceType.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=BookingChannel.choices)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="advisor_appointments",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    customer_words = models.CharField(_("what the customer says"), max_length=300, blank=True)
    pickup = models.BooleanField(_("pick-up and drop-off"), default=False)
    pickup_address_encrypted = models.TextField(_("pick-up address (encrypted)"), blank=True)
    pickup_from = models.DateTimeField(_("pick-up window from"), null=True, blank=True)
    pickup_to = models.DateTimeField(_("pick-up window to"), null=True, blank=True)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("driver"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="driver_appointments",
    )
    # Pick-up and drop-off as a job: moved only by `services.pickup_record` and the check-in (transitions.PICKUP).
    pickup_status = models.CharField(_("pick-up status"), max_length=16, choices=PickupStatus.choices, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    delivered_back_at = models.DateTimeField(_("delivered back at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["slot__start", "id"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["updated_at"], name="service_appt_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(pickup_from__isnull=True) | Q(pickup_to__gt=models.F("pickup_from")),
                name="appointment_pickup_window_order",
            ),
            # A pick-up always has a status; a booking without one never does.
            models.CheckConstraint(
                condition=Q(pickup=True, pickup_status__in=PickupStatus.values) | Q(pickup=False, pickup_status=""),
                name="appointment_pickup_status_with_pickup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slot.start:%Y-%m-%d %H:%M} {self.get_service_type_display()}"


class PickupEvent(models.Model):
    """One move of a pick-up (collected, at the store, delivered back): when, by whom, with an optional photo of
    the car as it was handed over."""

    appointment = models.ForeignKey(
        Appointment, verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="pickup_events"
    )
    move = models.CharField(_("move"), max_length=16)
    from_status = models.CharField(_("from"), max_length=16, choices=PickupStatus.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=PickupStatus.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    photo = models.FileField(_("photo"), upload_to="pickup/%Y/%m/", blank=True)
    content_type = models.CharField(_("content type"), max_length=40, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "appointment__store_id"

    class Meta:
        verbose_name = _("pick-up event")
        verbose_name_plural = _("pick-up events")
        ordering = ["appointment", "at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.from_status}→{self.to_status}"


class ConcernCategory(BaseModel):
    """What the customer's concern is about (engine, brakes, A/C …): "the same complaint" of the first-time-fix
    KPI is the same category on the same vehicle.  Rows without a group are the built-in defaults every group
    sees; a group may add its own (Django admin), a code being unique within the group."""

    group = models.ForeignKey(
        DealerGroup,
        verbose_name=_("dealer group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="concern_categories",
        help_text=_("Empty: a built-in category available to every group."),
    )
    code = models.SlugField(_("code"), max_length=32)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("concern category")
        verbose_name_plural = _("concern categories")
        ordering = ["position", "code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "code"], name="concern_category_code_per_group"),
            # NULLs are distinct in a unique index: the built-ins need their own.
            models.UniqueConstraint(
                fields=["code"], condition=Q(group__isnull=True), name="concern_category_code_builtin"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the reader's language."""
        from django.utils.translation import get_language

        return self.name_zh_hans if (get_language() or "").lower().startswith("zh") else self.name_en


def _timestamp_chain_constraints() -> list[models.CheckConstraint]:
    """arrived ≤ reception; arrived ≤ inspection ≤ work start ≤ ready ≤ delivered — every pair along the chain,
    each only when both are set, so no duration the KPIs compute can be negative."""
    chain = ["arrived_at", "inspection_done_at", "work_started_at", "ready_at", "delivered_at"]
    pairs = [("arrived_at", "reception_started_at")]
    pairs += [(a, b) for i, a in enumerate(chain) for b in chain[i + 1 :]]
    short = {
        "arrived_at": "arr",
        "reception_started_at": "rec",
        "inspection_done_at": "insp",
        "work_started_at": "work",
        "ready_at": "ready",
        "delivered_at": "deliv",
    }
    return [
        models.CheckConstraint(
            condition=Q(**{f"{a}__isnull": True}) | Q(**{f"{b}__isnull": True}) | Q(**{f"{a}__lte": models.F(b)}),
            name=f"ro_{short[a]}_before_{short[b]}",
        )
        for a, b in pairs
    ]


class RepairOrder(BaseModel):
    """A repair order (维修工单): one visit of one vehicle, from arrival to delivery.  Its status changes only
    through `services.repair_order_transition`, which also writes a RepairOrderEvent."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="repair_orders")
    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="repair_orders"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="repair_orders"
    )
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("appointment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="repair_order",
    )
    service_type = models.CharField(_("service type"), max_length=16, choices=ServiceType.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RepairOrderStatus.choices,
        default=RepairOrderStatus.RECEPTION,
        db_index=True,
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="advised_orders",
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("technician"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="technician_orders",
    )
    bay = models.ForeignKey(
        Bay, verbose_name=_("bay"), null=True, blank=True, on_delete=models.SET_NULL, related_name="repair_orders"
    )
    walk_in = models.BooleanField(_("walk-in"), default=False)
    priority = models.BooleanField(_("priority lane"), default=False)
    # The customer's real arrival (entered at registration, may be earlier than `created_at`, the opening).
    arrived_at = models.DateTimeField(_("arrived at"), db_index=True)
    reception_started_at = models.DateTimeField(
        _("reception started at"), null=True, blank=True, help_text=_("When an advisor took the customer.")
    )
    waits_on_site = models.BooleanField(
        _("customer waits on site"), default=False, help_text=_("Rather than leaving the car.")
    )
    concern_category = models.ForeignKey(
        ConcernCategory,
        verbose_name=_("concern category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    # Suggested automatically (same vehicle, same category, delivered within the window), confirmed or cleared
    # by the advisor; set (suggested or confirmed) it counts as a comeback.
    comeback_of = models.ForeignKey(
        "self",
        verbose_name=_("comeback of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="comebacks",
    )
    comeback_confirmed_at = models.DateTimeField(_("comeback confirmed at"), null=True, blank=True)
    comeback_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("comeback confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Initial inspection (环车检查)
    customer_words = models.TextField(_("the customer's words"), blank=True)
    mileage_in = models.PositiveIntegerField(_("mileage at arrival (km)"), null=True, blank=True)
    fuel_level = models.PositiveSmallIntegerField(_("fuel / battery level (%)"), null=True, blank=True)
    damage_marks = models.JSONField(_("damage marks"), default=list, blank=True)
    valuables_reminded = models.BooleanField(_("valuables reminder given"), default=False)
    inspection_done_at = models.DateTimeField(_("inspection completed at"), null=True, blank=True)
    # The reception SOP's items ticked at the walk-around ({key: bool}) and the version they came from.
    reception_checklist = models.JSONField(_("reception checklist"), default=dict, blank=True)
    reception_procedure_version = models.ForeignKey(
        "standards.ProcedureVersion",
        verbose_name=_("reception SOP version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Work and delivery
    bay_assigned_at = models.DateTimeField(_("bay assigned at"), null=True, blank=True)
    work_started_at = models.DateTimeField(_("work started at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, db_index=True)
    waiting_parts_reason = models.CharField(_("waiting for parts because"), max_length=200, blank=True)
    qc_failures = models.PositiveSmallIntegerField(_("failed quality checks"), default=0)
    efficiency_warned_at = models.DateTimeField(_("efficiency warning sent at"), null=True, blank=True)
    delivery_explanation = models.TextField(_("explanation at delivery"), blank=True)
    # The delivery SOP's items ticked at the hand-over ({key: bool}) and the version they came from.
    delivery_checklist = models.JSONField(_("delivery checklist"), default=dict, blank=True)
    delivery_procedure_version = models.ForeignKey(
        "standards.ProcedureVersion",
        verbose_name=_("delivery SOP version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    next_service_date = models.DateField(_("next maintenance date"), null=True, blank=True)
    next_service_km = models.PositiveIntegerField(_("next maintenance mileage (km)"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating at delivery (0–10)"), null=True, blank=True)
    billed_total = models.DecimalField(_("bill total (CNY)"), null=True, blank=True, **MONEY)
    delivered_with_pending_batches = models.BooleanField(
        _("delivered with part batches pending"),
        default=False,
        help_text=_("The advisor confirmed delivery while the batch record of a fitted part was still missing."),
    )
    link_nonce = models.CharField(
        _("customer link key"), max_length=16, help_text=_("Changing it revokes every link sent for this order.")
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("repair order")
        verbose_name_plural = _("repair orders")
        ordering = ["-arrived_at", "-id"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["vehicle", "arrived_at"]),
            # the KPI rules: a store's orders arrived / delivered in a period; changes since a stored figure
            models.Index(fields=["store", "arrived_at"], name="service_ro_store_arrived_idx"),
            models.Index(fields=["store", "delivered_at"], name="service_ro_store_delivered_idx"),
            models.Index(fields=["updated_at"], name="service_ro_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__lte=10), name="ro_rating_0_to_10"),
            models.CheckConstraint(
                condition=Q(fuel_level__isnull=True) | Q(fuel_level__lte=100), name="ro_fuel_level_percent"
            ),
            *_timestamp_chain_constraints(),
        ]

    def __str__(self) -> str:
        return self.number


class RepairOrderEvent(models.Model):
    """One state change of a repair order: from, to, who, when, why."""

    # Indexed by (order, id) below, which also serves every look-up by order.
    order = models.ForeignKey(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="events", db_index=False
    )
    from_status = models.CharField(_("from"), max_length=16, choices=RepairOrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=RepairOrderStatus.choices)
    at = models.DateTimeField(_("time"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "order__store_id"

    class Meta:
        verbose_name = _("repair order event")
        verbose_name_plural = _("repair order events")
        ordering = ["at", "id"]
        # The customer's page reads an order's last event id on every view: one probe of this index.
        indexes = [models.Index(fields=["order", "id"], name="service_event_order_id_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class Estimate(BaseModel):
    """An estimate (估价单) of a repair order; number 1 is the first, later ones are supplementary (追加项目).
    It stays a draft until the advisor sends it; the customer then decides line by line."""

    order = models.ForeignKey(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="estimates"
    )
    number = models.PositiveSmallIntegerField(_("number"))
    status = models.CharField(_("status"), max_length=16, choices=EstimateStatus.choices, default=EstimateStatus.DRAFT)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "order__store_id"

    class Meta:
        verbose_name = _("estimate")
        verbose_name_plural = _("estimates")
        ordering = ["order", "number"]
        constraints = [models.UniqueConstraint(fields=["order", "number"], name="estimate_number_unique")]
        # updated_at: which stored KPI figures a change makes stale (analytics/snapshots.py)
        indexes = [models.Index(fields=["updated_at"], name="service_estimate_updated_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.number}"

    @property
    def is_supplementary(self) -> bool:
        return self.number > 1


class EstimateLine(BaseModel):
    """One line of an estimate.  Lines sharing a `choice_group` are alternatives (e.g. OEM or aftermarket
    part): the customer approves at most one of them."""

    estimate = models.ForeignKey(Estimate, verbose_name=_("estimate"), on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=8, choices=LineKind.choices)
    description = models.CharField(_("description"), max_length=200)
    operation_code = models.CharField(_("operation code"), max_length=32, blank=True)
    standard_hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2, null=True, blank=True)
    hourly_rate = models.DecimalField(_("hourly rate (CNY)"), null=True, blank=True, **MONEY)
    min_grade = models.CharField(
        _("minimum technician grade"), max_length=20, choices=TechnicianGrade.choices, blank=True
    )
    # Work on an NEV's high-voltage system: only a technician holding a valid low-voltage electrician's certificate
    # (低压电工特种作业操作证) may be dispatched to it (staff app, enforced at dispatch).
    high_voltage = models.BooleanField(_("high-voltage work"), default=False)
    capability = models.CharField(
        _("bay equipment needed"),
        max_length=16,
        choices=BayCapability.choices,
        blank=True,
        help_text=_("Dispatch warns when the chosen bay is not equipped for it."),
    )
    part_number = models.CharField(_("part number"), max_length=40, blank=True)
    # The catalogue entry when the part number is one of the group's parts: stock is issued against it.
    part = models.ForeignKey(
        Part, verbose_name=_("catalogue part"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grade = models.CharField(_("part grade"), max_length=8, choices=PartGrade.choices, blank=True)
    removed_part = models.CharField(_("removed part"), max_length=8, choices=RemovedPartDisposition.choices, blank=True)
    unit_price = models.DecimalField(_("unit price (CNY)"), null=True, blank=True, **MONEY)
    quantity = models.DecimalField(_("quantity"), max_digits=8, decimal_places=2, default=Decimal("1"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    choice_group = models.PositiveIntegerField(_("alternative group"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=8, choices=LineDecision.choices, default=LineDecision.PENDING)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_channel = models.CharField(_("decided through"), max_length=8, choices=DecisionChannel.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("noted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=200, blank=True)
    # Traceability of the part fitted (batch, origin, production date, warranty): copied from the batches issued to
    # the line (`part_issues`), or typed for a part bought outside the ledger; what the customer's page and bill show.
    batch_number = models.CharField(_("batch"), max_length=40, blank=True)
    origin = models.CharField(_("origin"), max_length=60, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"), null=True, blank=True)
    # The technician's job clock (labour lines): finished once, the time itself is in `clock_segments`.
    work_finished_at = models.DateTimeField(_("work finished at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "estimate__order__store_id"

    class Meta:
        verbose_name = _("estimate line")
        verbose_name_plural = _("estimate lines")
        ordering = ["estimate", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="estimate_line_amount_not_negative"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="estimate_line_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["work_finished_at"], name="service_line_finished_idx"),  # efficiency KPIs
            models.Index(fields=["updated_at"], name="service_line_updated_idx"),  # stale KPI figures
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def decline_reason_text(self) -> str:
        """The reason in the reader's language: the automatic one is stored as its English msgid."""
        if self.decline_reason == ANOTHER_GRADE_CHOSEN:
            return gettext(ANOTHER_GRADE_CHOSEN)
        return self.decline_reason


class LinePartIssue(models.Model):
    """Parts of one batch issued to (+) or returned from (−) a part line: which physical batch went into which
    vehicle (配件追溯).  The stock side of the same move is its `movement` in the parts ledger."""

    line = models.ForeignKey(
        EstimateLine, verbose_name=_("estimate line"), on_delete=models.PROTECT, related_name="part_issues"
    )
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    movement = models.OneToOneField(
        Movement, verbose_name=_("stock movement"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")

    objects = ScopedQuerySet.as_manager()
    store_lookup = "line__estimate__order__store_id"

    class Meta:
        verbose_name = _("part issued to a line")
        verbose_name_plural = _("parts issued to lines")
        ordering = ["line", "at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="line_part_issue_not_zero")]

    def __str__(self) -> str:
        return f"{self.line_id} {self.batch_id} {self.quantity}"


class JobClockSegment(models.Model):
    """One stretch of a technician's clocked work on a labour line (start → pause/finish).  Clocked hours are
    Σ(ended_at − started_at); an open segment (no end) is the job the technician is on now — at most one each."""

    line = models.ForeignKey(
        EstimateLine, verbose_name=_("estimate line"), on_delete=models.CASCADE, related_name="clock_segments"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "line__estimate__order__store_id"

    class Meta:
        verbose_name = _("job clock segment")
        verbose_name_plural = _("job clock segments")
        ordering = ["line", "started_at", "id"]
        indexes = [models.Index(fields=["technician", "started_at"], name="service_clock_tech_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="clock_segment_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["technician"], condition=Q(ended_at__isnull=True), name="clock_one_open_per_technician"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.technician_id} {self.started_at:%H:%M}–{self.ended_at or ''}"


class Attachment(BaseModel):
    """A photo or short video: of the initial inspection, or as evidence for an estimate line."""

    # Indexed by (order, id) below, which also serves every look-up by order.
    order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("repair order"),
        on_delete=models.CASCADE,
        related_name="attachments",
        db_index=False,
    )
    line = models.ForeignKey(
        EstimateLine,
        verbose_name=_("estimate line"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=AttachmentPurpose.choices)
    file = models.FileField(_("file"), upload_to="ro/%Y/%m/")
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "order__store_id"

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["order", "id"]
        # The customer's page reads an order's last attachment id and count on every view.
        indexes = [models.Index(fields=["order", "id"], name="service_attachment_order_idx")]

    def __str__(self) -> str:
        return self.caption or self.file.name or ""

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


class QualityCheck(models.Model):
    """The foreman's quality check (质检); a failure sends the job back to work."""

    order = models.ForeignKey(
        RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="quality_checks"
    )
    passed = models.BooleanField(_("passed"))
    checklist = models.JSONField(_("checklist"), default=dict)
    # The QC SOP version whose items were checked (empty: the built-in default, or a check from before the library).
    procedure_version = models.ForeignKey(
        "standards.ProcedureVersion",
        verbose_name=_("QC SOP version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("checked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("time"))

    objects = ScopedQuerySet.as_manager()
    store_lookup = "order__store_id"

    class Meta:
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {'pass' if self.passed else 'fail'}"


class DeferredWork(BaseModel):
    """Work the customer declined: kept on the vehicle with the reason and a suggested date, shown at the
    next visit (dealers who migrate systems name lost declined work as their worst loss)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="deferred_work")
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="deferred_work"
    )
    source_line = models.OneToOneField(
        EstimateLine,
        verbose_name=_("declined line"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deferred",
    )
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("estimated amount (CNY)"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    suggested_date = models.DateField(_("suggested date"))
    status = models.CharField(_("status"), max_length=12, choices=DeferredStatus.choices, default=DeferredStatus.OPEN)
    resolved_order = models.ForeignKey(
        RepairOrder,
        verbose_name=_("done in order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolved_deferred_work",
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("deferred work")
        verbose_name_plural = _("deferred work")
        ordering = ["suggested_date", "id"]

    def __str__(self) -> str:
        return self.description
