"""The rights-request API: integrators (the call centre, the OEM's privacy portal) log and read customers'
rights requests.  Mounted at /api/v1/ by config/api.py."""

from ninja import Router

router = Router(tags=["privacy"])
