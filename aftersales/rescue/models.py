"""Roadside rescue (layer 6)."""

from __future__ import annotations
