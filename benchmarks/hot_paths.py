"""Throughput and latency of the hot paths against the floor of this stack (issue #4, "Performance").

Usage:  .venv/bin/python benchmarks/hot_paths.py [--duration 15] [--threads 2] [--connections 16]
                                                  [--database-url postgres://…/aftersales_bench] [--profile]

Migrates and seeds a fresh database (SQLite in a temporary data folder unless --database-url names a PostgreSQL
database, which is dropped and created), serves the project with gunicorn (2 workers) on a free port as
`benchmarks.floor_app:application` — the project plus a bare view doing one indexed primary-key query, the
floor — and drives each path with wrk (Debian's `wrk`; `apt-get install -y wrk`):
  - floor:          GET /__floor__/<id>/
  - progress page:  GET /r/<token>/ of a delivered order with a full estimate
  - booking:        POST /api/v1/appointments (JSON, bearer token), spread over every slot of the next 30 days
Prints requests/s, p50 and p99 for each, and each hot path's throughput as a share of the floor.  Goal: the
progress page at >= 50 % of the floor with p99 <= 50 ms.  --profile also renders the progress page in-process
and prints its queries and where the time goes.  It prints figures; it is not a test.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per path (default 15)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL database to drop, create and use")
    parser.add_argument("--profile", action="store_true", help="also profile the progress page in-process")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian's package), then run again.")

    data = tempfile.mkdtemp(prefix="aftersales-bench-")
    env = {**os.environ, "AFTERSALES_DATA_DIR": data, "PYTHONPATH": str(ROOT), "DJANGO_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    if options.database_url:
        env["DATABASE_URL"] = options.database_url
        recreate_database(options.database_url)
    label = "PostgreSQL" if options.database_url else "SQLite"
    print(f"Preparing a fresh {label} database in {data} (migrate, default seed) …", flush=True)
    manage(env, "migrate", "-v", "0")
    started = time.perf_counter()
    manage(env, "seed", "--no-progress")
    print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)
    bench = json.loads(manage(env, "shell", "-c", PREPARE).strip().splitlines()[-1])
    api_token = manage(env, "token", "advisor", "--name", "benchmark").split()[-1]

    port = free_port()
    log = open(Path(data) / "gunicorn.log", "w")  # noqa: SIM115 - open for the server's lifetime
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
        script = Path(data) / "book.lua"
        lua_bodies = "{" + ",".join(json.dumps(body) for body in bodies) + "}"
        script.write_text(
            BOOK_LUA.replace("{BODIES}", lua_bodies)
            .replace("{TOKEN}", api_token)
            .replace("{THREADS}", str(options.threads))
        )
        request = urllib.request.Request(
            f"{base}/api/v1/appointments",
            data=bodies[0].encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            print(f"  booking check: {reply.status} {reply.read()[:80]!r}")
        print(
            f"Driving each path for {options.duration} s: wrk -t{options.threads} -c{options.connections}, "
            f"gunicorn --workers {options.workers}, {label} …",
            flush=True,
        )
        results = {
            "floor (1 PK query)": wrk(floor_url, options),
            "progress page /r/<token>/": wrk(page_url, options),
            "booking POST /api/v1/appointments": wrk(f"{base}/", options, script),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    floor = results["floor (1 PK query)"]["rps"]
    print()
    print(f"{'path':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'of floor':>9} {'non-2xx':>8}")
    for name, row in results.items():
        print(
            f"{name:<36} {row['rps']:>9.1f} {row['p50']:>8.2f} {row['p99']:>8.2f} "
            f"{row['rps'] / floor:>8.0%} {int(row['non2xx']):>8}"
        )
    page = results["progress page /r/<token>/"]
    verdict = "meets" if page["rps"] >= 0.5 * floor and page["p99"] <= 50 else "misses"
    print(
        f"\nGoal (progress page >= 50 % of the floor, p99 <= 50 ms): {verdict} "
        f"({page['rps'] / floor:.0%}, p99 {page['p99']:.1f} ms)."
    )
    booking = results["booking POST /api/v1/appointments"]
    if booking["non2xx"]:
        print(f"Booking: {int(booking['non2xx'])} of {int(booking['requests'])} answers were not 201 (409 = full).")
    if options.profile or verdict == "misses":
        print("\nProfile of the progress page (in-process, 200 renders):")
        profile(env, bench["token"])
    if not options.database_url:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
