"""A real job worker in a subprocess, on its own data folder and SQLite database: killed with -9 in the middle
of the outbox sweep and started again, it loses no message and sends none twice; `aftersales demo` runs the
site and the worker and stops both together."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter

import pytest

from aftersales.core.tests.worker_support import (
    BACKEND,
    LEASE_SECONDS,
    QUEUE_MESSAGES,
    Sandbox,
    free_port,
    stop,
    wait_until,
)

pytestmark = pytest.mark.worker

MESSAGES = 10
SWEEP = "aftersales.messaging.tasks.outbox_deliver_due"
SWEEP_LOCK = "aftersales.lock.messaging.outbox_deliver_due"


class KillNineTests:
    def test_a_worker_killed_mid_sweep_loses_no_message_and_sends_none_twice(self, tmp_path):
        box = Sandbox(tmp_path, AFTERSALES_MESSAGE_BACKEND=BACKEND)
        box.run("migrate", "-v0")
        box.run("shell", "-c", QUEUE_MESSAGES.format(count=MESSAGES))
        assert box.statuses() == {"pending": MESSAGES}
        ids = sorted(row[0] for row in box.query("SELECT id FROM messaging_outboxmessage"))

        # One worker thread, so the only send in flight is the sweep's: the kill lands between "begun" and "sent".
        first_log = tmp_path / "worker-1.log"
        first = box.start(first_log, "worker", "--workers", "1")
        try:
            wait_until(
                lambda: (
                    len(box.noted("sent.log")) >= MESSAGES // 3
                    and len(box.noted("begun.log")) > len(box.noted("sent.log"))
                    and f"Executing {SWEEP}" in first_log.read_text()
                ),
                timeout=20,
                what="the sweep to be half-way, with a send in flight",
            )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=5)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == -signal.SIGKILL
        killed_at = time.monotonic()

        sent_before = box.noted("sent.log")
        at_kill = box.statuses()
        in_flight = [row[0] for row in box.query("SELECT id FROM messaging_outboxmessage WHERE status = 'sending'")]
        held_locks = [row[0] for row in box.query("SELECT key FROM kv", database=box.data_dir / "huey.sqlite3")]
        assert 0 < len(sent_before) < MESSAGES
        assert len(in_flight) == 1 and in_flight[0] not in sent_before  # claimed, being sent, not yet received
        assert at_kill["pending"] >= 1
        assert SWEEP_LOCK in held_locks  # the dead worker's lock: the next start must clear it
        first_text = first_log.read_text()
        assert f"Executing {SWEEP}" in first_text and "outbox sweep:" not in first_text  # killed mid-sweep

        # The claim of the message in flight is held for the lease; after it, the next worker takes it over.
        time.sleep(max(0.0, LEASE_SECONDS + 0.5 - (time.monotonic() - killed_at)))
        second_log = tmp_path / "worker-2.log"
        second = box.start(second_log, "worker")
        try:
            wait_until(lambda: box.statuses() == {"sent": MESSAGES}, timeout=20, what="every message to be sent")
        finally:
            assert stop(second) == 0
        sent = box.noted("sent.log")
        print(
            f"\nkill -9 evidence: {MESSAGES} queued; at the kill {len(sent_before)} sent, statuses {dict(at_kill)},"
            f" message #{in_flight[0]} in flight, lock held {SWEEP_LOCK in held_locks}; after the restart"
            f" {len(sent)} sends, each id {set(Counter(sent).values())} time(s), statuses {dict(box.statuses())}"
        )
        assert sorted(sent) == ids  # every message exactly once
        assert Counter(sent).most_common(1)[0][1] == 1
        attempts = dict(box.query("SELECT id, attempts FROM messaging_outboxmessage"))
        assert attempts[in_flight[0]] == 2  # claimed by the dead worker, then by the new one
        assert "not run, unable to acquire lock" not in second_log.read_text()
        assert f"Executing {SWEEP}" in second_log.read_text()


class DemoTests:
    def test_demo_serves_the_site_and_runs_the_worker_and_sigterm_stops_both(self, tmp_path):
        box = Sandbox(tmp_path)
        box.run("migrate", "-v0")
        # A store already there: the demo skips the seed (covered elsewhere) and only serves.
        box.run(
            "shell",
            "-c",
            "from aftersales.config.testing import make_group, make_store; make_store(make_group(), 'SH01')",
        )
        port = free_port()
        log = tmp_path / "demo.log"
        demo = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "aftersales", "demo", "--port", str(port), "--workers", "1"],
            env=box.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: "Job worker: queue" in log.read_text() and log.read_text().count("Started the") == 2,
                timeout=30,
                what="the web server and the worker",
            )

            def site_answers() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as answer:  # noqa: S310
                        return answer.status == 200
                except OSError:
                    return False

            wait_until(site_answers, timeout=30, what="the site to answer", poll=0.2)
            pids = [
                int(line.rsplit("pid ", 1)[1].rstrip(").")) for line in log.read_text().splitlines() if "(pid " in line
            ]
            assert len(pids) == 2
            demo.send_signal(signal.SIGTERM)
            assert demo.wait(timeout=30) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
        text = log.read_text()
        assert "Stopped the web server and the job worker." in text
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
