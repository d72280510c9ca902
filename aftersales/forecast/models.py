"""Demand and staffing (SPEC §9, layer 6 operations): the cached weekly forecast of each store.

`StoreForecast` is a cache, not a record: one row per store and week (the Monday the forecast starts), written by
the forecast sweep (`services.forecast_refresh`) and read by the page and the API, so a page view never refits the
model.  The sweep replaces a row in place (unique on store and week), so running it twice changes nothing."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.core.models import BaseModel
from aftersales.core.scoping import ScopedQuerySet
from aftersales.organisation.models import Store


class StoreForecast(BaseModel):
    """A store's weekly orders and bookings by service type, the next eight weeks' forecast with its interval, the
    backtest's MASE, and the labour facts the staffing table needs (standard hours per order and their split by
    grade, the weekday profile) — all in `data`, computed at `computed_at` from the complete weeks before `week`."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="forecasts")
    week = models.DateField(_("first forecast week"), help_text=_("The Monday of the first week forecast."))
    computed_at = models.DateTimeField(_("computed at"))
    history_weeks = models.PositiveIntegerField(_("weeks of history"))
    mase = models.FloatField(_("MASE"), null=True, blank=True)
    benchmark_mase = models.FloatField(_("MASE of the seasonal-naive forecast"), null=True, blank=True)
    seasonal_period = models.PositiveSmallIntegerField(_("seasonal-naive period (weeks)"), default=52)
    data = models.JSONField(_("figures"), default=dict)

    objects = ScopedQuerySet.as_manager()
    store_lookup = "store_id"

    class Meta:
        verbose_name = _("store forecast")
        verbose_name_plural = _("store forecasts")
        ordering = ["store", "-week"]
        constraints = [models.UniqueConstraint(fields=["store", "week"], name="forecast_one_per_store_week")]

    def __str__(self) -> str:
        return f"{self.store_id} · {self.week:%Y-%m-%d}"
