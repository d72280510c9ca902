"""Imports every module that registers KPIs in the catalogue (see catalogue.py); the order is the order of the
public JSON and of the screens."""

from aftersales.analytics import (
    kpis_booking,  # noqa: F401  (follow-up, online booking, on-time start)
    kpis_voice,  # noqa: F401  (CSAT, NPS, CSI, recovery, complaints)
)
