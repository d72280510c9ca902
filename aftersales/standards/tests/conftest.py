"""Fixtures of the SOP tests: the service tests' shop (store A with a foreman, two technicians, the advisors alice
and bob, the manager mia; store B with carol; the group manager grace) and a quality-department member."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.config.testing import make_user
from aftersales.organisation.choices import Role
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    SHANGHAI,
    console_outbox,
    frozen,
    media_root,
    shanghai,
    shop,
)
from aftersales.standards import services


@pytest.fixture
def quality(cast: Any) -> Any:
    return make_user("quinn", Role.QUALITY, group=cast.group)


def qc_items(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The built-in QC items as a draft takes them, plus `extra`."""
    from aftersales.standards.selectors import built_in_version

    version = built_in_version(group_id=0, step="qc")
    return services.items_of(version) + list(extra)
