"""Parts (layer 4, below service)."""

from __future__ import annotations
