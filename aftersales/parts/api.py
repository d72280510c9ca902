"""The parts endpoints of /api/v1/."""

from ninja import Router

router = Router(tags=["parts"])
