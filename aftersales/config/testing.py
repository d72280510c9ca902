"""Test helpers shared by every app: the store personas and builders that go through the real services.
They live in config, the top layer, because they build through the services of every app (core, the lowest
layer, may import none of them).

The cast (modelled on a three-persona check): in dealer group G1, store A (SH01) and store B (HZ01);
in another group G2, store C (BJ01).  `alice` and `bob` are advisors of A, `carol` is an advisor of B,
`tom` a technician of A, `dan` the pick-up driver of A, `mia` the manager of A, `grace` the group manager of
G1, `otto` the group manager of G2.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from aftersales.customers import services as customer_services
from aftersales.customers.models import Customer, Vehicle
from aftersales.customers.validators import id_number_check_char, vin_check_digit
from aftersales.organisation.choices import Role
from aftersales.organisation.models import DealerGroup, Membership, StaffProfile, Store

_counter = itertools.count(1)


def make_group(code: str = "g1", name: str = "测试集团") -> DealerGroup:
    return DealerGroup.objects.create(code=code, name=name)


def make_store(group: DealerGroup, code: str, name: str | None = None) -> Store:
    return Store.objects.create(
        group=group,
        code=code,
        name=name or f"{code}店",
        city="上海",
        address="上海市浦东新区测试路1号",
        latitude=Decimal("31.2"),
        longitude=Decimal("121.5"),
        plate_prefix="沪A",
    )


def make_user(username: str, role: str, *, store: Store | None = None, group: DealerGroup | None = None) -> Any:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    StaffProfile.objects.create(user=user, display_name=username.title())
    Membership.objects.create(user=user, group=group or store.group, store=store, role=role)  # type: ignore[union-attr]
    return user


def unique_mobile() -> str:
    return f"139{next(_counter):08d}"


def unique_vin(wmi: str = "LSV") -> str:
    draft = f"{wmi}AB12C0T{next(_counter):07d}"[:17]
    draft = draft[:10] + "A" + draft[11:]
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def valid_id_number(region: str = "310115", born: str = "19850612", sequence: str = "123") -> str:
    first17 = f"{region}{born}{sequence}"
    return first17 + id_number_check_char(first17)


def make_customer(store: Store, *, by: Any = None, name: str = "张三", **fields: Any) -> Customer:
    fields.setdefault("phone", unique_mobile())
    return customer_services.customer_create(store=store, by=by, name=name, **fields)


def make_vehicle(customer: Customer, *, by: Any = None, **fields: Any) -> Vehicle:
    fields.setdefault("vin", unique_vin())
    fields.setdefault("brand", "上汽大众")
    fields.setdefault("model_name", "朗逸")
    return customer_services.vehicle_create(customer=customer, by=by, **fields)


@dataclass
class Cast:
    group: DealerGroup
    other_group: DealerGroup
    store_a: Store
    store_b: Store
    store_c: Store
    alice: Any
    bob: Any
    carol: Any
    tom: Any
    dan: Any
    mia: Any
    grace: Any
    otto: Any


def make_cast() -> Cast:
    group = make_group("g1", "华东集团")
    other = make_group("g2", "华北集团")
    store_a = make_store(group, "SH01", "上海店")
    store_b = make_store(group, "HZ01", "杭州店")
    store_c = make_store(other, "BJ01", "北京店")
    return Cast(
        group=group,
        other_group=other,
        store_a=store_a,
        store_b=store_b,
        store_c=store_c,
        alice=make_user("alice", Role.ADVISOR, store=store_a),
        bob=make_user("bob", Role.ADVISOR, store=store_a),
        carol=make_user("carol", Role.ADVISOR, store=store_b),
        tom=make_user("tom", Role.TECHNICIAN, store=store_a),
        dan=make_user("dan", Role.DRIVER, store=store_a),
        mia=make_user("mia", Role.MANAGER, store=store_a),
        grace=make_user("grace", Role.GROUP_MANAGER, group=group),
        otto=make_user("otto", Role.GROUP_MANAGER, group=other),
    )


@contextmanager
def shared_rows(django_db_blocker: Any) -> Iterator[None]:
    """For a module- or class-scoped fixture that writes expensive rows (a seeded demo) once for several tests.

    The rows are written inside an outer transaction that stays open while those tests run; each test's own
    transaction (pytest-django's `db`) is a savepoint inside it, so whatever a test changes is rolled back
    before the next one, and the outer transaction is rolled back at the end: the tests after see an empty
    database as before.  Write the rows inside `with django_db_blocker.unblock():` within this block.
    A test of the same scope that needs an empty database must not run while the block is open.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def race(work: Callable[[int], Any], count: int, *, at: dt.datetime) -> list[Any]:
    """Run `work(index)` in `count` threads released together by one barrier, the clock stopped at `at` (the
    concurrency tests on PostgreSQL); returns each thread's result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    with time_machine.travel(at, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)  # noqa: S101 - test support
    return results
