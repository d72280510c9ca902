"""The KPI dashboards and the monthly report at three network sizes on PostgreSQL, against a floor measured in the
same run (issue 12 part 8).

Usage:  .venv/bin/python benchmarks/kpi_dashboards.py [--sizes 5,15,50] [--customers-per-store 1000] [--months 36]
            [--database-url postgres://postgres@127.0.0.1:5432/aftersales_bench_kpi] [--reuse] [--runs 5] [--explain]

For each size (number of stores):
1. drops and creates the PostgreSQL database `<name>_<stores>` (never point it at a database you work in), migrates
   it and seeds it with `aftersales seed --stores N --customers N×1000 --months 36`, printing how long the seed took;
   `--reuse` keeps a database already seeded with that size (migrated to the code's latest migrations);
2. in a child process (DEBUG off, `django.test.Client`, a manager of the first store and a group manager), times
   best of `--runs` after one warm-up:
   - the floor: one sequential scan of the repair-order table (`SELECT count(*), max(arrived_at)` with index scans
     switched off), the least any figure over the orders must cost;
   - the store-month dashboard `/numbers/?store=CODE&period=<last closed month>` twice: "cold" with no stored
     figures (every KPI of the month and of its 13-month trends computed from the records) and "warm" after the
     nightly snapshot job has stored the closed months (what a manager meets every day);
   - the group's 12-month view `/numbers/group/?group=CODE&period=<last full year>` (every store side by side
     for a year: stores × KPIs, computed over the records), cold and warm;
   - the monthly XLSX report of the first store (summary + the records behind every KPI), produced in-process;
   - the nightly snapshot job for the whole network (informative);
   and the SQL queries of one request of each page.  Targets: the store-month dashboard ≤ 300 ms and ≤ 2 × the
   floor, the group 12-month view ≤ 3 s.
3. prints one table over the sizes, so the growth is visible.  With `--explain`, prints EXPLAIN ANALYZE of the
   floor and of the most expensive KPI query of the dashboard at the largest size.

It prints figures; it is not a test.  Compare runs of the same machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "aftersales"
TODAY = "2026-12-03"


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seeded_stores(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM organisation_store").fetchone()
            orders = conn.execute("SELECT count(*) FROM service_repairorder").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row and orders and orders[0] else None


def best(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up: caches, the first query plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(url: str, runs: int, explain: bool) -> dict[str, Any]:
    """Runs in the child process whose settings point at `url`."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from aftersales.analytics.models import KpiSnapshot, ReportFormat
    from aftersales.analytics.periods import Period
    from aftersales.analytics.reports.services import report_produce, report_request
    from aftersales.analytics.snapshots import snapshot_refresh
    from aftersales.core import clock
    from aftersales.organisation.choices import Role
    from aftersales.organisation.models import Membership, Store
    from aftersales.service.models import RepairOrder

    store = Store.objects.select_related("group").order_by("code").first()
    assert store is not None
    month = Period.containing(clock.today()).previous()
    year = Period("year", clock.today().year - 1, 1)
    manager = get_user_model().objects.get(
        pk=Membership.objects.filter(store=store, role=Role.MANAGER).values_list("user_id", flat=True).first()
    )
    group_manager = get_user_model().objects.get(
        pk=Membership.objects.filter(group=store.group, store__isnull=True, role=Role.GROUP_MANAGER)
        .values_list("user_id", flat=True)
        .first()
    )
    out: dict[str, Any] = {
        "stores": Store.objects.count(),
        "orders": RepairOrder.objects.count(),
        "month": str(month),
        "year": str(year),
    }

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_indexscan = off")
            cursor.execute("SET enable_indexonlyscan = off")
            cursor.execute("SET enable_bitmapscan = off")
            cursor.execute("SELECT count(*), max(arrived_at) FROM service_repairorder")
            cursor.fetchall()
            cursor.execute("RESET enable_indexscan")
            cursor.execute("RESET enable_indexonlyscan")
            cursor.execute("RESET enable_bitmapscan")

    out["floor_s"] = best(floor, runs)

    def page(user: Any, path: str) -> Callable[[], None]:
        client = Client()
        client.force_login(user)

        def get() -> None:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")

        return get

    dashboard_path = f"/numbers/?store={store.code}&period={month}"
    group_path = f"/numbers/group/?group={store.group.code}&period={year}"
    dashboard = page(manager, dashboard_path)
    group = page(group_manager, group_path)

    def queries(fn: Callable[[], None]) -> int:
        with CaptureQueriesContext(connection) as captured:
            fn()
        return len(captured)

    KpiSnapshot.objects.all().delete()
    out["dashboard_cold_s"] = best(dashboard, runs)
    out["dashboard_cold_queries"] = queries(dashboard)
    out["group_cold_s"] = best(group, max(1, runs // 2))
    out["group_cold_queries"] = queries(group)
    started = time.perf_counter()
    out["snapshot_rows"] = snapshot_refresh()
    out["snapshot_job_s"] = time.perf_counter() - started
    out["dashboard_warm_s"] = best(dashboard, runs)
    out["dashboard_warm_queries"] = queries(dashboard)
    out["group_warm_s"] = best(group, max(1, runs // 2))
    out["group_warm_queries"] = queries(group)

    def xlsx() -> None:
        run = report_request(user=manager, store=store, period=str(month), format=ReportFormat.XLSX, language="zh-hans")
        report_produce(run_id=run.pk)

    out["xlsx_s"] = best(xlsx, max(1, runs // 2))
    floor_after = best(floor, runs)
    out["floor_after_s"] = floor_after

    if explain:
        with CaptureQueriesContext(connection) as captured:
            KpiSnapshot.objects.all().delete()
            dashboard()
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            out["explain_slowest"] = [row[0] for row in cursor.fetchall()]
            cursor.execute("SET enable_indexscan = off")
            cursor.execute("SET enable_bitmapscan = off")
            cursor.execute("SET enable_indexonlyscan = off")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT count(*), max(arrived_at) FROM service_repairorder")
            out["explain_floor"] = [row[0] for row in cursor.fetchall()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/aftersales_bench_kpi")
    parser.add_argument("--sizes", default="5,15,50", help="numbers of stores, comma-separated")
    parser.add_argument("--customers-per-store", type=int, default=1000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded with the same size")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process: measure this database
    args = parser.parse_args()
    if args.measure:
        print("RESULT " + json.dumps(measure(args.measure, args.runs, args.explain)))
        return
    if not args.database_url.startswith("postgres"):
        sys.exit("--database-url must name a PostgreSQL database (this benchmark is for PostgreSQL)")
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    results = []
    for stores in sizes:
        url = f"{args.database_url}_{stores}"
        data_dir = tempfile.mkdtemp(prefix=f"bench-kpi-{stores}-")
        env = dict(
            os.environ,
            DATABASE_URL=url,
            AFTERSALES_DATA_DIR=data_dir,
            DJANGO_DEBUG="False",
            DJANGO_SETTINGS_MODULE="aftersales.config.settings",
        )
        if not (args.reuse and seeded_stores(url) == stores):
            recreate_database(url)
            subprocess.run([BIN, "migrate", "-v0"], env=env, check=True)
            started = time.perf_counter()
            subprocess.run(
                [BIN, "seed", "--no-progress", "--stores", str(stores),
                 "--customers", str(stores * args.customers_per_store), "--months", str(args.months),
                 "--today", TODAY],
                env=env,
                check=True,
            )  # fmt: skip
            print(f"{stores} stores: seed {time.perf_counter() - started:.0f} s", flush=True)
        else:
            subprocess.run([BIN, "migrate", "-v0"], env=env, check=True)  # the code may have gained migrations
            print(f"{stores} stores: reusing {url}", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url, "--runs", str(args.runs)]
            + (["--explain"] if args.explain and stores == max(sizes) else []),
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        line = next(row for row in child.stdout.splitlines() if row.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
        results.append(result)
        for key in ("explain_floor", "explain_slowest"):
            if key in result:
                print(f"\n--- EXPLAIN ANALYZE: {key.removeprefix('explain_')}")
                print("\n".join(result[key]))

    print()
    print(f"{'stores':>6} {'orders':>8} {'floor ms':>9} │ {'dashboard ms cold/warm':>22} {'× floor':>8} {'queries':>9}"
          f" │ {'group year s cold/warm':>22} {'queries':>9} │ {'xlsx s':>7} │ {'snapshots s':>11}")  # fmt: skip
    for r in results:
        floor_ms = (r["floor_s"] + r["floor_after_s"]) / 2 * 1000
        print(
            f"{r['stores']:>6} {r['orders']:>8} {floor_ms:>9.1f} │ "
            f"{r['dashboard_cold_s'] * 1000:>10.0f} / {r['dashboard_warm_s'] * 1000:>9.0f} "
            f"{r['dashboard_warm_s'] * 1000 / floor_ms:>8.1f} "
            f"{r['dashboard_cold_queries']:>4}/{r['dashboard_warm_queries']:<4} │ "
            f"{r['group_cold_s']:>10.2f} / {r['group_warm_s']:>9.2f} "
            f"{r['group_cold_queries']:>4}/{r['group_warm_queries']:<4} │ {r['xlsx_s']:>7.2f} │ "
            f"{r['snapshot_job_s']:>11.1f}"
        )
    print("targets: dashboard (warm) ≤ 300 ms and ≤ 2 × floor; group year view ≤ 3 s")
    print(f"(periods: month {results[-1]['month']}, year {results[-1]['year']}; best of {args.runs} after a warm-up)")


if __name__ == "__main__":
    main()
