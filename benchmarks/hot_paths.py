"""Throughput and latency of the hot paths against the floor of this stack, on SQLite and PostgreSQL in one run.

Usage:  .venv/bin/python benchmarks/hot_paths.py [--databases sqlite,postgresql]
            [--database-url postgres://postgres@127.0.0.1:5432/aftersales_bench]
            [--stores 3 --customers 3000 --months 24 | --national] [--keep DIR [--seed-only]]
            [--duration 15] [--threads 2] [--connections 16] [--workers 2] [--profile] [--verbose]

For each database: migrates and seeds a fresh one (SQLite in a data folder; the PostgreSQL database named by
--database-url is dropped and created), timing the seed; serves the project with gunicorn (2 workers) on a free
port as `benchmarks.floor_app:application` — the project plus a bare view doing one indexed primary-key query,
the floor — and drives each path with wrk (Debian's `wrk`; `apt-get install -y wrk`):
  - floor:          GET /__floor__/<id>/ (before and after the hot paths; their mean is the floor)
  - progress page:  GET /r/<token>/ of a delivered order with a full estimate
  - booking:        POST /api/v1/appointments (JSON, bearer token), spread over every slot of the next 30 days
Prints requests/s, p50 and p99 for each, each hot path's throughput as a share of its database's floor, and a
summary of both databases against the goals: the progress page >= 50 % of the floor with p99 <= 50 ms, booking
>= 25 % of the floor.  --national seeds 50 stores x 36 months (50 000 customers); --keep DIR keeps the data folder
and, run again with the same DIR and size, reuses the seeded databases instead of seeding again (--seed-only
prepares them and stops).  --profile also
renders the progress page in-process and prints its queries and where the time goes.  It prints figures; it is
not a test.  Figures before and after issue #10: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "aftersales"
BOOK_LUA = """
local bodies = {BODIES}
local counter = 0
local offset = 0
function setup(thread)
  thread:set("offset", offset)
  offset = offset + 1
end
function init(args)
  offset = tonumber(wrk.thread:get("offset")) or 0
  counter = offset
end
function request()
  counter = counter + {THREADS}
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", "/api/v1/appointments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {TOKEN}",
  }, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([BIN, *args], env=env, check=True, capture_output=True, text=True).stdout


PREPARE = r"""
import datetime as dt, json
from django.db.models import Count
from aftersales.core import clock
from aftersales.customers.models import Vehicle
from aftersales.organisation.models import Store
from aftersales.service.models import RepairOrder, Slot
from aftersales.service.services.booking import slots_ensure
from aftersales.service.services.links import order_link_token

store = Store.objects.order_by("id").first()
order = (
    RepairOrder.objects.filter(store=store, status="delivered")
    .annotate(n=Count("estimates__lines")).order_by("-n", "-arrived_at").first()
)
# Booking: every slot of the coming 30 days (after the booking lead time), made roomy so the run measures the
# booking path rather than a full calendar: a throwaway benchmark database only.
now = clock.now()
starts = []
for offset in range(0, 30):
    for slot in slots_ensure(store=store, day=clock.today() + dt.timedelta(days=offset)):
        if slot.start > now + dt.timedelta(hours=2):
            starts.append(slot.start.isoformat())
Slot.objects.filter(store=store, start__gt=now).update(capacity=30000)
pairs = list(Vehicle.objects.filter(store=store).order_by("id").values_list("customer_id", "id")[:400])
print(json.dumps({
    "order_id": order.pk, "token": order_link_token(order), "lines": order.n, "store": store.code,
    "starts": starts, "pairs": pairs,
}))
"""


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    result["p50"] = ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    result["p99"] = ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    requests = re.search(r"(\d+) requests in", output)
    result["requests"] = float(requests.group(1)) if requests else 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors:.*", output)
    result["socket_errors"] = errors.group(0) if errors else ""  # type: ignore[assignment]
    return result


def wrk(url: str, options: argparse.Namespace, script: Path | None = None) -> dict[str, float]:
    args = ["wrk", f"-t{options.threads}", f"-c{options.connections}", f"-d{options.duration}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    output = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    if options.verbose:
        print(output)
    return parse_wrk(output)


def profile(env: dict[str, str], token: str) -> None:
    """Render the progress page in-process: its queries, and the functions the time goes to."""
    code = f"""
import cProfile, pstats, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client()
url = "/r/{token}/"
client.get(url)
with CaptureQueriesContext(connection) as queries:
    response = client.get(url)
print(f"status {{response.status_code}}, {{len(response.content)}} bytes, {{len(queries)}} queries:")
for q in queries.captured_queries:
    print(f"  {{q['time']}} s  {{q['sql'][:150]}}")
started = time.perf_counter()
for _ in range(200):
    client.get(url)
print(f"in-process: {{(time.perf_counter() - started) / 200 * 1000:.2f}} ms per page")
profiler = cProfile.Profile()
profiler.enable()
for _ in range(200):
    client.get(url)
profiler.disable()
stats = pstats.Stats(profiler)
stats.sort_stats("cumulative").print_stats(35)
stats.sort_stats("tottime").print_stats(15)
"""
    subprocess.run([sys.executable, "-c", code], env={**env, "DJANGO_SETTINGS_MODULE": "aftersales.config.settings"})


# The same benchmark at the commit before issue #10's changes (bbbff72), default size, this 2-core machine shared
# with other work (floor 454 req/s on SQLite, 925 on PostgreSQL): share of the floor, and the page's p99 in ms.
BEFORE = {
    "SQLite": {"progress": (1.03, 60.6), "booking": 0.11},
    "PostgreSQL": {"progress": (0.04, 682.2), "booking": 0.05},
}
GOALS = "progress page >= 50 % of the floor with p99 <= 50 ms; booking >= 25 % of the floor"
FLOOR, PAGE, BOOKING = "floor (1 PK query)", "progress page /r/<token>/", "booking POST /api/v1/appointments"


def prepare(label: str, options: argparse.Namespace, data: Path) -> tuple[dict[str, str], dict, float | None]:
    """Migrate and seed the database (or reuse the one --keep prepared with the same size); its benchmark data."""
    env = {**os.environ, "AFTERSALES_DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "DJANGO_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    if label == "PostgreSQL":
        env["DATABASE_URL"] = options.database_url
    size = ["--stores", str(options.stores), "--customers", str(options.customers), "--months", str(options.months)]
    marker = data / f"seeded-{label}.json"
    seeded = {"size": size, "database": env.get("DATABASE_URL", "")}
    reuse = options.keep and marker.exists() and json.loads(marker.read_text()) == seeded
    seconds = None
    if reuse:
        print(f"{label}: reusing the database seeded earlier in {data} ({' '.join(size)})", flush=True)
        manage(env, "migrate", "-v", "0")
    else:
        if label == "PostgreSQL":
            recreate_database(options.database_url)
        else:
            (data / "aftersales.sqlite3").unlink(missing_ok=True)
        print(f"{label}: migrating and seeding a fresh database in {data} ({' '.join(size)}) …", flush=True)
        manage(env, "migrate", "-v", "0")
        started = time.perf_counter()
        summary = manage(env, "seed", "--no-progress", *size).strip().splitlines()[-1]
        seconds = time.perf_counter() - started
        print(f"  seeded in {seconds:.1f} s: {summary}", flush=True)
        marker.write_text(json.dumps(seeded))
    bench = json.loads(manage(env, "shell", "-c", PREPARE).strip().splitlines()[-1])
    bench["api_token"] = manage(env, "token", "advisor", "--name", "benchmark").split()[-1]
    return env, bench, seconds


def drive(label: str, env: dict[str, str], bench: dict, options: argparse.Namespace, data: Path) -> dict:
    """Serve the project with gunicorn and drive the floor, the progress page and booking with wrk."""
    port = free_port()
    log = open(data / f"gunicorn-{label}.log", "w")  # noqa: SIM115 - open for the server's lifetime
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.floor_app:application",
            "--workers",
            str(options.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "aftersales.config.settings"},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        floor_url = f"{base}/__floor__/{bench['order_id']}/"
        page_url = f"{base}/r/{bench['token']}/"
        for _ in range(100):
            try:
                urllib.request.urlopen(floor_url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        page = urllib.request.urlopen(page_url, timeout=5)
        print(f"  progress page {page.status}, {len(page.read())} bytes, order with {bench['lines']} lines")
        bodies = [
            json.dumps(
                {
                    "store": bench["store"],
                    "start": start,
                    "service_type": "maintenance",
                    "channel": "online",
                    "customer": customer,
                    "vehicle": vehicle,
                }
            )
            for index, start in enumerate(bench["starts"])
            for customer, vehicle in [bench["pairs"][index % len(bench["pairs"])]]
        ]
        script = data / f"book-{label}.lua"
        lua_bodies = "{" + ",".join(json.dumps(body) for body in bodies) + "}"
        script.write_text(
            BOOK_LUA.replace("{BODIES}", lua_bodies)
            .replace("{TOKEN}", bench["api_token"])
            .replace("{THREADS}", str(options.threads))
        )
        request = urllib.request.Request(
            f"{base}/api/v1/appointments",
            data=bodies[0].encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {bench['api_token']}"},
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            print(f"  booking check: {reply.status} {reply.read()[:80]!r}")
        print(
            f"  driving each path for {options.duration} s: wrk -t{options.threads} -c{options.connections}, "
            f"gunicorn --workers {options.workers} …",
            flush=True,
        )
        before = wrk(floor_url, options)
        results = {PAGE: wrk(page_url, options), BOOKING: wrk(f"{base}/", options, script)}
        after = wrk(floor_url, options)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    floor = {key: (before[key] + after[key]) / 2 for key in ("rps", "p50", "p99", "requests", "non2xx")}
    print(f"  floor before the hot paths {before['rps']:.0f} req/s, after {after['rps']:.0f} req/s")
    return {FLOOR: floor, **results}


def report(label: str, results: dict) -> None:
    floor = results[FLOOR]["rps"]
    print(f"\n{label}")
    print(f"{'path':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'of floor':>9} {'non-2xx':>8}")
    for name, row in results.items():
        print(
            f"{name:<36} {row['rps']:>9.1f} {row['p50']:>8.2f} {row['p99']:>8.2f} "
            f"{row['rps'] / floor:>8.0%} {int(row['non2xx']):>8}"
        )
    booking = results[BOOKING]
    if booking["non2xx"]:
        print(f"Booking: {int(booking['non2xx'])} of {int(booking['requests'])} answers were not 201 (409 = full).")


def verdict(results: dict) -> tuple[float, float, float, bool]:
    floor = results[FLOOR]["rps"]
    page, booking = results[PAGE]["rps"] / floor, results[BOOKING]["rps"] / floor
    p99 = results[PAGE]["p99"]
    return page, p99, booking, page >= 0.5 and p99 <= 50 and booking >= 0.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/aftersales_bench",
        help="the PostgreSQL database to drop, create and use (never one you work in)",
    )
    parser.add_argument("--stores", type=int, default=3, help="seed: stores (default 3)")
    parser.add_argument("--customers", type=int, default=3000, help="seed: customers in all (default 3000)")
    parser.add_argument("--months", type=int, default=24, help="seed: months of history (default 24)")
    parser.add_argument(
        "--national", action="store_true", help="a national network: 50 stores, 50 000 customers, 36 months"
    )
    parser.add_argument("--keep", type=Path, default=None, help="data folder to keep and reuse between runs")
    parser.add_argument("--seed-only", action="store_true", help="with --keep: prepare the databases, measure nothing")
    parser.add_argument("--duration", type=int, default=15, help="seconds per path (default 15)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--profile", action="store_true", help="also profile the progress page in-process")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output")
    options = parser.parse_args()
    if options.national:
        options.stores, options.customers, options.months = 50, 50_000, 36
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian's package), then run again.")
    labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "postgres": "PostgreSQL"}
    wanted = [labels[name.strip().lower()] for name in options.databases.split(",") if name.strip()]
    data = options.keep or Path(tempfile.mkdtemp(prefix="aftersales-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"Hot paths, {', '.join(wanted)}; load average {load:.2f} on {os.cpu_count()} cores.", flush=True)
    summary = []
    if options.seed_only and not options.keep:
        sys.exit("--seed-only needs --keep DIR (where the seeded databases stay for the next runs).")
    for label in wanted:
        env, bench, seconds = prepare(label, options, data)
        if options.seed_only:
            continue
        results = drive(label, env, bench, options, data)
        report(label, results)
        summary.append((label, seconds, results))
        if options.profile or results[PAGE]["rps"] < 0.5 * results[FLOOR]["rps"]:
            print(f"\nProfile of the progress page on {label} (in-process, 200 renders):")
            profile(env, bench["token"])
    if options.seed_only:
        return
    size = f"{options.stores} stores, {options.customers} customers, {options.months} months"
    print(f"\nSummary ({size}; load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)")
    print(f"Goals: {GOALS}.")
    print(f"{'database':<11} {'seed s':>7} {'floor req/s':>12} {'progress':>9} {'p99 ms':>7} {'booking':>8}  goals")
    for label, seconds, results in summary:
        page, p99, booking, met = verdict(results)
        seeded = f"{seconds:.0f}" if seconds is not None else "reused"
        print(
            f"{label:<11} {seeded:>7} {results[FLOOR]['rps']:>12.0f} {page:>9.0%} {p99:>7.1f} {booking:>8.0%}  "
            f"{'met' if met else 'missed'}"
        )
    for label, _seconds, _results in summary:
        before = BEFORE[label]
        print(
            f"{label:<11} before issue #10 (default size): progress {before['progress'][0]:.0%} "
            f"(p99 {before['progress'][1]:.0f} ms), booking {before['booking']:.0%}"
        )
    if not options.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
