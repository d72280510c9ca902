"""Fixtures for the outbox tests: a clean console backend, contexts for the templates, a customer."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from aftersales.config.testing import make_customer
from aftersales.messaging.backends import ConsoleBackend

SHANGHAI = ZoneInfo("Asia/Shanghai")

BOOKING_CONFIRMED = {
    "name": "张三",
    "store": "上海店",
    "service": "常规保养",
    "time": "2026-03-05 09:30",
    "wait_minutes": 20,
    "address": "上海市浦东新区测试路1号",
    "directions": "地铁2号线世纪公园站3号口",
    "link": "https://svc.example/a/abc",
    "documents": "行驶证、保养手册",
    "phone": "021-12345678",
}
BOOKING_CANCELLED = {
    "name": "张三",
    "store": "上海店",
    "service": "常规保养",
    "time": "2026-03-05 09:30",
    "phone": "021-12345678",
}
MAINTENANCE = {
    "name": "张三",
    "plate": "沪A·12345",
    "due": "4月1日",
    "store": "上海店",
    "phone": "021-12345678",
}


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def console_outbox():
    """The console backend's memory of sent messages, empty at the start of each test."""
    ConsoleBackend.clear()
    yield ConsoleBackend.sent
    ConsoleBackend.clear()


@pytest.fixture
def customer(cast):
    """A customer of store A who has answered no consent question."""
    return make_customer(cast.store_a, by=cast.alice, name="张三", phone="13812345678")


@pytest.fixture
def fan(cast):
    """A customer of store A who has granted marketing and survey consent."""
    return make_customer(
        cast.store_a, by=cast.alice, name="李四", phone="13987654321", consents={"marketing": True, "surveys": True}
    )
