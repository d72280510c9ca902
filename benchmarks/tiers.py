"""How long computing every customer's tier takes on PostgreSQL, against a floor measured in the same run.

Usage:  .venv/bin/python benchmarks/tiers.py [--database-url postgres://postgres@127.0.0.1:5432/aftersales_bench_tiers]
            [--stores 50 --customers 50000 --months 36] [--reuse] [--runs 3] [--explain]

1. Drops and creates the PostgreSQL database named by --database-url (never point it at a database you work in),
   migrates it and seeds it with `aftersales seed` (default: 50 stores, 50 000 customers, 36 months, like
   hot_paths.py --national), printing how long the seed took.  --reuse skips this when the database already holds
   the same number of stores and customers.
2. In-process (DEBUG off), times, best of --runs:
   - the floor: one GROUP BY over the delivered orders (customer_id, max(delivered_at), count, sum(billed_total)),
     read in full — the least any computation of R, F and M must do;
   - `tiers_compute` for every customer in three situations: the first run (every tier is new: a history row and an
     update per customer), the next night (as_of + 1 day: R moves for everyone who has a tier, so every such
     customer is updated but few change tier) and a rerun of the same day (nothing to write);
   and prints each as a multiple of the floor.  Before each measured run the customer table is vacuumed (untimed),
   as autovacuum does between two nights; without it a run would also pay for the previous run's dead rows.
3. With --explain, prints EXPLAIN (ANALYZE, BUFFERS) of the tier query and of the floor.

It prints figures; it is not a test.  The figures depend on the machine: compare runs of the same machine only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "aftersales"


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seeded_size(url: str) -> tuple[int, int] | None:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            stores = conn.execute("SELECT count(*) FROM organisation_store").fetchone()
            customers = conn.execute("SELECT count(*) FROM customers_customer").fetchone()
    except psycopg.Error:
        return None
    return (int(stores[0]), int(customers[0])) if stores and customers else None


def best(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/aftersales_bench_tiers")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--today", default="2026-12-03", help="the seed's last day and the computation's as_of")
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded with this size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("--database-url must name a PostgreSQL database (this benchmark is for PostgreSQL)")
    data_dir = tempfile.mkdtemp(prefix="bench-tiers-")
    env = dict(os.environ, DATABASE_URL=args.database_url, AFTERSALES_DATA_DIR=data_dir, DJANGO_DEBUG="False")
    expected = (args.stores, (args.customers // args.stores) * args.stores)
    if not (args.reuse and seeded_size(args.database_url) == expected):
        recreate_database(args.database_url)
        subprocess.run([BIN, "migrate", "-v0"], env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [BIN, "seed", "--no-progress", "--stores", str(args.stores), "--customers", str(args.customers),
             "--months", str(args.months), "--today", args.today],
            env=env,
            check=True,
        )  # fmt: skip
        print(f"seed: {time.perf_counter() - started:.1f} s")
    else:
        print(f"reusing {args.database_url} ({expected[0]} stores, {expected[1]} customers)")

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Max, Sum

    from aftersales.crm.models import TierChange
    from aftersales.crm.services import thresholds_for_store, tier_rows, tiers_compute
    from aftersales.customers.models import Customer
    from aftersales.organisation.models import Store
    from aftersales.service.choices import RepairOrderStatus
    from aftersales.service.models import RepairOrder

    as_of = dt.date.fromisoformat(args.today)
    orders = RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED, delivered_at__isnull=False).count()
    customers = Customer.objects.count()
    print(f"{Store.objects.count()} stores, {customers} customers, {orders} delivered repair orders")

    floor_query = (
        RepairOrder.objects.filter(status=RepairOrderStatus.DELIVERED, delivered_at__isnull=False)
        .order_by()
        .values("customer_id")
        .annotate(last=Max("delivered_at"), n=Count("id"), m=Sum("billed_total"))
    )

    def floor() -> None:
        list(floor_query.values_list("customer_id", "last", "n", "m"))

    def vacuum() -> None:
        """What autovacuum does between two nights (untimed): without it every measured run would also pay for
        the dead row versions of the previous one, and no update could stay on its page (HOT)."""
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) customers_customer")
            cursor.execute("VACUUM (ANALYZE) crm_tierchange")

    def reset() -> None:
        Customer.objects.update(
            tier="", tier_rule="", tier_recency_days=None, tier_frequency=0, tier_monetary=0, tier_as_of=None
        )
        TierChange.objects.all().delete()
        vacuum()

    floor()  # warm the cache: every measurement reads warm pages
    floor_s, floor_all = best(floor, args.runs)
    results: dict[str, float] = {}
    first: list[float] = []
    for _ in range(args.runs):
        reset()
        started = time.perf_counter()
        summary = tiers_compute(as_of=as_of)
        first.append(time.perf_counter() - started)
    results["first run (every tier new)"] = min(first)
    print(f"tiers: {summary.as_dict()['tiers']}")
    day = [as_of]

    nights: list[float] = []
    for _ in range(args.runs):
        vacuum()
        day[0] += dt.timedelta(days=1)
        started = time.perf_counter()
        tiers_compute(as_of=day[0])
        nights.append(time.perf_counter() - started)
    results["next night (R moves for all)"] = min(nights)
    results["same day again (no change)"] = best(lambda: tiers_compute(as_of=day[0]), args.runs)[0]
    floor_after, _ = best(floor, args.runs)
    floor_mean = (floor_s + floor_after) / 2

    print()
    print(f"floor: one GROUP BY over the delivered orders: {floor_s * 1000:.0f} ms before, {floor_after * 1000:.0f} ms "
          f"after (mean {floor_mean * 1000:.0f} ms)")  # fmt: skip
    print(f"{'tiers_compute':<34} {'seconds':>8} {'× floor':>8}")
    for name, seconds in results.items():
        print(f"{name:<34} {seconds:>8.2f} {seconds / floor_mean:>8.1f}")
    print(f"(runs: {args.runs}, best of each; floor runs {', '.join(f'{t * 1000:.0f}' for t in floor_all)} ms)")

    if args.explain:
        store = Store.objects.order_by("pk").first()
        assert store is not None
        query = tier_rows(
            customers=Customer.objects.all(), thresholds=thresholds_for_store(store), as_of=as_of
        ).values_list("pk", "new_tier", "new_rule", "new_r", "new_f", "new_m")
        for name, qs in (("tier query", query), ("floor", floor_query)):
            sql, params = qs.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                print(f"\n--- EXPLAIN ANALYZE: {name}")
                print("\n".join(row[0] for row in cursor.fetchall()))
    print(f"\nmedian floor {statistics.median(floor_all) * 1000:.0f} ms; data folder {data_dir}")


if __name__ == "__main__":
    main()
