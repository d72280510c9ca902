"""Certificate expiry alerts: once, the configured number of days ahead (and once on expiry), to the technician
and the store's managers, under a controlled clock; a rerun raises nothing twice."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.notifications.models import InboxItem
from aftersales.organisation.services import settings_update
from aftersales.staff import services
from aftersales.staff.models import CertificateAlert
from aftersales.staff.tasks import certificate_expiry
from aftersales.staff.tests.conftest import frozen, hv_certificate

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def certificate(shop):
    with frozen(2026, 5, 1, 10, 0):
        return hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 7, 31))


def inbox(user):
    return list(InboxItem.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True))


class ExpirySweepTests:
    def test_nothing_31_days_ahead_one_alert_at_30_and_none_on_the_rerun(self, shop, certificate):
        with frozen(2026, 6, 30, 8, 40):  # 31 days before
            assert services.certificate_expiry_sweep().alerts == 0
        assert inbox(shop.senior) == [] and inbox(shop.cast.mia) == []
        with frozen(2026, 7, 1, 8, 40):  # 30 days before
            first = certificate_expiry.call_local()
            again = certificate_expiry.call_local()
        assert (first["alerts"], first["people"]) == (1, 2)  # the technician and the manager
        assert (again["alerts"], again["already"]) == (0, 1)
        assert inbox(shop.senior) == ["staff_certificate_expiring"]
        assert inbox(shop.cast.mia) == ["staff_certificate_expiring"]
        assert inbox(shop.cast.alice) == [] and inbox(shop.junior) == []
        item = InboxItem.objects.get(recipient=shop.cast.mia)
        assert "T3101" in item.text_en and "2026-07-31" in item.text_en
        assert item.url == f"/staff/people/{shop.senior.pk}/"
        with frozen(2026, 7, 15, 8, 40):  # still within the lead: no new alert
            assert services.certificate_expiry_sweep().alerts == 0

    def test_a_missed_day_is_caught_up_and_expiry_raises_its_own_alert_once(self, shop, certificate):
        with frozen(2026, 7, 20, 8, 40):
            assert services.certificate_expiry_sweep().alerts == 1
        with frozen(2026, 7, 31, 8, 40):  # the last valid day: nothing new
            assert services.certificate_expiry_sweep().alerts == 0
        with frozen(2026, 8, 1, 8, 40):
            assert services.certificate_expiry_sweep().alerts == 1
            assert services.certificate_expiry_sweep().alerts == 0
        assert inbox(shop.cast.mia) == ["staff_certificate_expiring", "staff_certificate_expired"]
        assert CertificateAlert.objects.count() == 2
        with frozen(2026, 12, 1, 8, 40):  # long expired: no more reminders
            assert services.certificate_expiry_sweep().alerts == 0

    def test_the_lead_is_a_store_setting(self, shop, certificate):
        settings_update(
            group=shop.store.group, store=shop.store, changes={"certificate_expiry_alert_days": 60}, by=shop.cast.mia
        )
        with frozen(2026, 6, 1, 8, 40):  # 60 days before
            assert services.certificate_expiry_sweep().alerts == 1

    def test_a_certificate_without_expiry_or_of_an_inactive_person_raises_nothing(self, shop):
        with frozen(2026, 5, 1, 10, 0):
            hv_certificate(shop.junior, shop.cast.mia, issued=D(2023, 7, 1), expires=None, number="N1")
            hv_certificate(shop.senior, shop.cast.mia, issued=D(2023, 7, 1), expires=D(2026, 5, 20), number="N2")
        shop.senior.is_active = False
        shop.senior.save(update_fields=["is_active"])
        with frozen(2026, 5, 1, 8, 40):
            assert services.certificate_expiry_sweep().alerts == 0
