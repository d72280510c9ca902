"""Staff qualifications (layer 3)."""

from __future__ import annotations
