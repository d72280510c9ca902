"""Repair e-health record (layer 6)."""

from __future__ import annotations
