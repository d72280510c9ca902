"""Demand and staffing (SPEC §9, layer 6 operations): weekly load per store and service type, an 8-week forecast
with its backtest error, suggested technician-hours."""
