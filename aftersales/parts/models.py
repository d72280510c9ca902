"""The parts ledger (SPEC §9, layer 4, below service).

The catalogue (`Part`) belongs to the dealer group; everything that holds stock belongs to a store.  Stock lives in
batches: a goods receipt creates one `Batch` (supplier, manufacturer, batch number, production date, warranty,
source voucher, certificate checked) and its `remaining` quantity is what can still be issued from it.  `Stock` is
the store's running total of a part with its safety stock; both are never negative (a check constraint as the last
guard; the services lock the rows first).  Every change of stock is one `Movement` row, signed (+ in, − out): the
ledger per part is the movements, the ledger per vehicle is the service app's issues to order lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.organisation.models import DealerGroup, Store
from aftersales.parts.choices import MovementKind, PartCategory

QUANTITY: dict[str, Any] = {"max_digits": 10, "decimal_places": 2}
MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class Part(BaseModel):
    """A catalogue entry of the dealer group: one part code, one kind of part."""

    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("part code"), max_length=40)
    name = models.CharField(_("part name"), max_length=120)
    spec = models.CharField(_("specification / model"), max_length=120, blank=True)
    category = models.CharField(_("part category"), max_length=8, choices=PartCategory.choices)
    brand = models.CharField(_("brand"), max_length=60, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=120, blank=True)
    barcode = models.CharField(
        _("barcode"), max_length=64, blank=True, help_text=_("What the scanner reads from the box, if not the code.")
    )
    unit = models.CharField(_("unit"), max_length=8, default="件")
    is_core = models.BooleanField(
        _("core part"), default=False, help_text=_("Counted by the core-parts availability KPI.")
    )
    alternatives = models.ManyToManyField(
        "self", verbose_name=_("alternatives"), blank=True, help_text=_("Parts that can be fitted instead.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="parts_part_code_unique")]
        indexes = [models.Index(fields=["group", "barcode"], name="parts_part_barcode_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Stock(BaseModel):
    """A store's stock of one part: the running total of its batches, and the level under which it is reordered."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="stocks")
    on_hand = models.DecimalField(_("on hand"), default=Decimal("0"), **QUANTITY)
    safety_stock = models.DecimalField(_("safety stock"), default=Decimal("0"), **QUANTITY)
    bin_location = models.CharField(_("bin"), max_length=20, blank=True)
    # When the low-stock alert went out; cleared when stock is back above the safety level (one alert per dip).
    low_alerted_at = models.DateTimeField(_("low-stock alert sent"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["store", "part__code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "part"], name="parts_stock_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="parts_stock_not_negative"),
            models.CheckConstraint(condition=Q(safety_stock__gte=0), name="parts_safety_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.part_id} {self.on_hand}"

    @property
    def is_low(self) -> bool:
        return self.safety_stock > 0 and self.on_hand < self.safety_stock


class Batch(BaseModel):
    """One goods receipt of a part into a store (进货批次): where it came from and what proves it."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="batches")
    supplier = models.CharField(_("supplier"), max_length=120)
    manufacturer = models.CharField(_("manufacturer"), max_length=120, blank=True)
    received_on = models.DateField(_("received on"))
    unit_cost = models.DecimalField(_("unit cost (CNY)"), **MONEY)
    quantity = models.DecimalField(_("quantity received"), **QUANTITY)
    remaining = models.DecimalField(_("remaining"), **QUANTITY)
    batch_number = models.CharField(_("batch number"), max_length=40)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"), null=True, blank=True)
    source_voucher = models.CharField(
        _("source voucher"), max_length=60, help_text=_("The supplier's invoice or delivery note number (来源凭证).")
    )
    certificate_checked = models.BooleanField(
        _("certificate checked"), default=False, help_text=_("The product certificate (合格证) was seen at receipt.")
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["received_on", "id"]  # FIFO: the oldest receipt first
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="parts_batch_quantity_positive"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="parts_batch_remaining_not_negative"),
            models.CheckConstraint(condition=Q(remaining__lte=models.F("quantity")), name="parts_batch_remaining_max"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="parts_batch_cost_not_negative"),
        ]
        indexes = [models.Index(fields=["store", "part", "received_on"], name="parts_batch_fifo_idx")]

    def __str__(self) -> str:
        return f"{self.receipt_number} {self.batch_number}"

    @property
    def receipt_number(self) -> str:
        """The goods-receipt number printed on labels and in the ledger (入库单号)."""
        return f"GR{self.pk:07d}" if self.pk else ""


class Movement(models.Model):
    """One change of a store's stock of a part, signed: + received or returned, − issued; an adjustment either way
    with its reason.  Never edited: a mistake is corrected by another movement."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="movements")
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="movements", null=True, blank=True
    )
    kind = models.CharField(_("movement"), max_length=12, choices=MovementKind.choices)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    on_hand_after = models.DecimalField(_("on hand after"), **QUANTITY)
    at = models.DateTimeField(_("time"), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # What the movement was for, in words a reader understands without a join (e.g. "RO 2026-000123 · 粤B·12345").
    reference = models.CharField(_("reference"), max_length=80, blank=True)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="parts_movement_not_zero")]
        indexes = [models.Index(fields=["store", "part", "at"], name="parts_movement_part_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.part_id}"
