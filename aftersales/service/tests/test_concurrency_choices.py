"""Two approvals of the two options of one choice at the same moment (the customer on the link, the advisor at the
desk): one wins, the other is told, and the choice never ends with both approved.  PostgreSQL only: SQLite
serialises write transactions, so nothing races there."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.models import EstimateLine

from .conftest import open_order
from .test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]


@pytest.mark.parametrize("attempt", range(3))
def test_two_approvals_of_one_choice_leave_exactly_one_option_approved(shop, attempt):
    order = open_order(shop)
    oem = services.estimate_line_add(
        order=order, by=shop.advisor, kind="part", description="刹车片", grade="oem", unit_price="420"
    )
    brand = services.estimate_line_add(
        order=order,
        by=shop.advisor,
        kind="part",
        description="刹车片",
        grade="brand",
        unit_price="260",
        alternative_to=oem,
    )
    services.estimate_send(estimate=oem.estimate, by=shop.advisor)
    deciders = [
        lambda: services.estimate_line_decide(line=oem, decision="approved", channel="link", by=Party.CUSTOMER),
        lambda: services.estimate_line_decide(line=brand, decision="approved", channel="desk", by=shop.advisor),
    ]
    results = race(lambda index: deciders[index](), 2)
    winners = [r for r in results if isinstance(r, EstimateLine)]
    losers = [r for r in results if not isinstance(r, EstimateLine)]
    assert len(winners) == 1 and len(losers) == 1, results
    # Told in words (already decided, or another option approved), never a database error such as a deadlock.
    assert isinstance(losers[0], ApplicationError | ValidationError), repr(losers[0])
    decisions = sorted(EstimateLine.objects.filter(pk__in=[oem.pk, brand.pk]).values_list("decision", flat=True))
    assert decisions == ["approved", "declined"]
