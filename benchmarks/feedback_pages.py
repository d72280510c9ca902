"""Response times of the voice-of-the-customer staff pages (follow-ups, surveys, recovery, complaints, CAPA) on the
full demo data.

Usage:  .venv/bin/python benchmarks/feedback_pages.py [--runs 30] [--database-url postgres://…/bench_feedback]
                                                      [--profile | --profile-all]

Migrates and seeds a fresh database with the default demo (3 stores, 3 000 customers, 24 months with the feedback
history) — SQLite in a temporary data folder unless --database-url names a PostgreSQL database, which is dropped
and created: never point it at a database you work in.  Then, in this process with django.test.Client (DEBUG
off), logs in as the demo user whose role uses each page, requests the page once to warm it, counts the SQL
queries of one request and times --runs more.  Prints, per page, the median and p95 in ms, the response size and
the queries.  Goal: every page's median <= 150 ms and p95 <= 300 ms on SQLite; each page gets PASS or MISS.
--profile also prints a cProfile summary of each page that misses (or of every page with --profile-all).
It prints figures; it is not a test and never fails on a miss (only on an answer other than 200).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "aftersales"
GOAL_MEDIAN_MS = 150.0
GOAL_P95_MS = 300.0


@dataclass
class Page:
    label: str
    user: str
    url: str


@dataclass
class Result:
    page: Page
    median: float
    p95: float
    size: int
    queries: int

    @property
    def passes(self) -> bool:
        return self.median <= GOAL_MEDIAN_MS and self.p95 <= GOAL_P95_MS


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database named in the URL (never the one you work in: pick a new name)."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(database_url: str | None) -> str:
    """A fresh, seeded database; sets this process's environment for it and returns the data folder."""
    data = tempfile.mkdtemp(prefix="aftersales-feedback-bench-")
    os.environ["AFTERSALES_DATA_DIR"] = data
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.config.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        recreate_database(database_url)
    label = "PostgreSQL" if database_url else "SQLite"
    print(f"Preparing a fresh {label} database in {data} (migrate, default seed) …", flush=True)
    subprocess.run([BIN, "migrate", "-v", "0"], check=True, capture_output=True)
    started = time.perf_counter()
    seeded = subprocess.run([BIN, "seed", "--no-progress"], check=True, capture_output=True, text=True)
    print(f"  seeded in {time.perf_counter() - started:.1f} s: {seeded.stdout.strip()}", flush=True)
    return data


def pages() -> list[Page]:
    """The pages to time, each with the demo user whose role works on it (needs Django set up).

    The seed leaves few open follow-ups (how many, and in which store, depends on the hour it runs: the demo
    calls every follow-up due before "now").  The call page takes the oldest open one that the demo `agent`
    sees, else the oldest open one of any store with that store's first agent (same demo password), else the
    demo agent's oldest follow-up even though it is closed; the queue is timed for that agent too.
    """
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from aftersales.feedback.choices import ComplaintStatus, FollowUpStatus
    from aftersales.feedback.models import Complaint, FollowUp
    from aftersales.organisation.choices import Role
    from aftersales.organisation.models import Membership

    def user(username: str):  # noqa: ANN202 - a User
        return get_user_model().objects.get(username=username)

    oldest = ("due_at", "id")
    open_follow_ups = FollowUp.objects.filter(status=FollowUpStatus.OPEN).order_by(*oldest)
    agent = "agent"
    follow_up = open_follow_ups.for_user(user(agent)).first()
    call = "follow-up call (oldest open)"
    if follow_up is None and (follow_up := open_follow_ups.first()) is not None:
        agent = (
            Membership.objects.filter(store_id=follow_up.store_id, role=Role.AGENT)
            .order_by("user__username")
            .values_list("user__username", flat=True)
            .first()
        )
    elif follow_up is None:
        follow_up = FollowUp.objects.for_user(user(agent)).order_by(*oldest).first()
        call = "follow-up call (none open: oldest, closed)"
    complaint = (
        Complaint.objects.for_user(user("manager"))
        .exclude(status=ComplaintStatus.CLOSED)
        .order_by("received_at", "id")
        .first()
    )
    if follow_up is None or complaint is None or agent is None:
        sys.exit("The demo has no follow-up for an agent or no open complaint for the manager.")
    open_count = open_follow_ups.filter(store_id=follow_up.store_id).count()
    fb = "feedback:"
    queue = reverse(fb + "follow-up-queue")
    timed = [Page(f"follow-up queue ({open_count} open)", agent, queue)]
    if agent != "agent":
        timed.append(Page("follow-up queue (0 open)", "agent", queue))
    return [
        *timed,
        Page("follow-up queue ?show=done_today", "agent", queue + "?show=done_today"),
        Page(f"{call} #{follow_up.pk}", agent, reverse(fb + "follow-up-call", args=[follow_up.pk])),
        Page("survey list", "manager", reverse(fb + "survey-list")),
        Page("recovery list", "advisor", reverse(fb + "recovery-list")),
        Page("complaint list", "manager", reverse(fb + "complaint-list")),
        Page("complaint list ?show=all", "manager", reverse(fb + "complaint-list") + "?show=all"),
        Page(
            f"complaint detail (open) #{complaint.pk}", "manager", reverse(fb + "complaint-detail", args=[complaint.pk])
        ),
        Page("suggestion list", "manager", reverse(fb + "suggestion-list")),
        Page("CAPA list", "manager", reverse(fb + "capa-list")),
        Page("frequent issues (last month)", "manager", reverse(fb + "frequent-issues")),
        Page("home (manager)", "manager", reverse("home")),
        Page("home (agent)", "agent", reverse("home")),
    ]


def get_ok(client, page: Page):  # noqa: ANN001, ANN201 - django.test.Client, HttpResponse
    response = client.get(page.url)
    if response.status_code != 200:
        where = f" -> {response.get('Location')}" if response.has_header("Location") else ""
        raise SystemExit(f"FAILED: {page.label} ({page.url}) as {page.user} answered {response.status_code}{where}")
    return response


def measure(client, page: Page, runs: int) -> Result:  # noqa: ANN001 - django.test.Client
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get_ok(client, page)  # warm: templates, caches, the database's pages
    with CaptureQueriesContext(connection) as queries:
        response = get_ok(client, page)
    count = len(queries)  # now: the next request's request_started signal empties the connection's query log
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get_ok(client, page)
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return Result(page, statistics.median(times), p95, len(response.content), count)


def profile(client, page: Page, runs: int) -> None:  # noqa: ANN001 - django.test.Client
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        get_ok(client, page)
    print(f"\n--- {page.label} as {page.user}: {len(queries)} queries, the slowest:")
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
        print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        get_ok(client, page)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(12)


def run(options: argparse.Namespace, label: str) -> None:
    """Log in, time each page, print the table and the verdict (and profiles when asked)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    clients: dict[str, Client] = {}
    results: list[Result] = []
    print(f"Timing {options.runs} requests per page after one warm-up, in-process (django.test.Client), {label} …")
    for page in pages():
        if page.user not in clients:
            clients[page.user] = Client()
            if not clients[page.user].login(username=page.user, password=settings.DEMO_PASSWORD):
                raise SystemExit(f"FAILED: cannot log in as the demo user {page.user!r}")
        results.append(measure(clients[page.user], page, options.runs))
        print(f"  {page.label}: median {results[-1].median:.1f} ms", flush=True)

    width = max(len(r.page.label) for r in results)
    who = max(len(r.page.user) for r in results)
    goal = f"median <= {GOAL_MEDIAN_MS:.0f} ms and p95 <= {GOAL_P95_MS:.0f} ms"
    print(f"\n{label}, {options.runs} runs per page (goal: {goal})")
    print(f"{'page':<{width}}  {'user':<{who}} {'median ms':>9} {'p95 ms':>8} {'KiB':>7} {'queries':>7}  goal")
    for r in results:
        print(
            f"{r.page.label:<{width}}  {r.page.user:<{who}} {r.median:>9.1f} {r.p95:>8.1f} {r.size / 1024:>7.1f} "
            f"{r.queries:>7}  {'PASS' if r.passes else 'MISS'}"
        )
    missed = [r for r in results if not r.passes]
    verdict = (
        "PASS" if not missed else f"MISS ({len(missed)} of {len(results)}: {', '.join(r.page.label for r in missed)})"
    )
    print(f"\nGoal (every page {goal}, {label}): {verdict}")

    to_profile = results if options.profile_all else missed if options.profile else []
    for r in to_profile:
        profile(clients[r.page.user], r.page, options.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page after one warm-up (default 30)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL database to drop, create and use")
    parser.add_argument("--profile", action="store_true", help="profile each page that misses the goal")
    parser.add_argument("--profile-all", action="store_true", help="profile every page")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    label = "PostgreSQL" if options.database_url else "SQLite"
    data = prepare(options.database_url)
    try:
        run(options, label)
    finally:
        shutil.rmtree(data, ignore_errors=True)  # the SQLite file, or only the keys of a PostgreSQL run


if __name__ == "__main__":
    main()
