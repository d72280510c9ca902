"""Issue 15's "done when": a subscriber on 127.0.0.1 receives the events of one repair order's life, signed, each
once, with the real job worker restarted in the middle (killed with -9, then started again).

The order's first half (arrival → work begun, an approved estimate) is recorded and its events are delivered by the
first worker; the worker is killed; the second half (QC → ready → delivered) is recorded while no worker runs; the
second worker finds those facts and delivers them.  Nothing is lost and nothing is posted twice."""

from __future__ import annotations

import signal
import time

import pytest

from aftersales.core.tests.worker_support import LEASE_SECONDS, Sandbox, stop, wait_until
from aftersales.webhooks.tests.conftest import start_subscriber
from aftersales.webhooks.tests.helpers import verify

pytestmark = pytest.mark.worker

SECRET = "integration-test-secret-0123456789"
RUN = "from aftersales.webhooks.tests import lifecycle as life; {calls}"


def webhook_statuses(box: Sandbox) -> dict[str, int]:
    return dict(
        box.query("SELECT status, COUNT(*) FROM messaging_outboxmessage WHERE channel = 'webhook' GROUP BY status")
    )


def events(box: Sandbox) -> list[tuple[str, str]]:
    return box.query("SELECT event_id, type FROM webhooks_webhookevent ORDER BY occurred_at, id")


class WorkerRestartTests:
    def test_one_orders_life_reaches_the_subscriber_signed_each_event_once_across_a_restart(self, tmp_path):
        subscriber, server = start_subscriber()
        try:
            box = Sandbox(tmp_path)
            box.run("migrate", "-v0")
            box.run(
                "shell",
                "-c",
                RUN.format(
                    calls=f"life.setup(url={subscriber.url!r}, secret={SECRET!r}); life.first_half(); life.sweep_now()"
                ),
            )
            first_log = tmp_path / "worker-1.log"
            first = box.start(first_log, "worker")
            try:
                wait_until(
                    lambda: len(events(box)) >= 5 and webhook_statuses(box) == {"sent": len(events(box))},
                    timeout=60,
                    what="the first half's events to be delivered",
                )
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=5)
            finally:
                if first.poll() is None:
                    first.kill()
            first_half = {event_id.replace("-", "") for event_id, _type in events(box)}
            received_first = len(subscriber.received)
            assert received_first == len(first_half)

            # The rest of the order's life while no worker runs: its facts wait in the database, the sweep in the queue.
            box.run("shell", "-c", RUN.format(calls="life.second_half(); life.sweep_now()"))
            assert len(subscriber.received) == received_first

            second = box.start(tmp_path / "worker-2.log", "worker")
            try:
                wait_until(
                    lambda: len(events(box)) > len(first_half) and webhook_statuses(box) == {"sent": len(events(box))},
                    timeout=60,
                    what="the second half's events to be delivered",
                )
            finally:
                assert stop(second) == 0
        finally:
            server.shutdown()
            server.server_close()

        recorded = events(box)
        posts = subscriber.received
        ids = [post.json["id"] for post in posts]
        assert len(ids) == len(set(ids)) == len(recorded)  # each event once
        assert {i.replace("-", "") for i in ids} == {event_id.replace("-", "") for event_id, _type in recorded}
        for post in posts:
            assert verify(secret=SECRET, headers=post.headers, body=post.body)
            assert post.headers["X-Aftersales-Event-Id"] == post.json["id"]
            assert post.headers["X-Aftersales-Event-Type"] == post.json["type"]
            assert post.json["occurred_at"].endswith("+08:00")

        # The order's status changes link up from arrival (no previous status) to delivery, none missing.
        moves = {
            post.json["data"]["from_status"]: post.json["data"]["to_status"]
            for post in posts
            if post.json["type"] == "order.status_changed"
        }
        chain, status = [], None
        while status in moves:
            status = moves[status]
            chain.append(status)
        assert chain == ["reception", "waiting", "in_bay", "in_progress", "qc", "ready", "delivered"]
        assert len(moves) == len(chain)
        assert sorted({post.json["type"] for post in posts}) == ["estimate.answered", "order.status_changed"]
        assert len(posts) == 8


class KilledMidPostTests:
    def test_a_worker_killed_while_the_subscriber_answers_posts_that_event_again_with_the_same_id(self, tmp_path):
        """At least once: the subscriber received the post but the worker died before recording the answer, so the
        next worker posts it again once the claim expires — the same event id and body, which the receiver drops.
        Every other event arrives once."""
        subscriber, server = start_subscriber()
        subscriber.slow_post, subscriber.slow_seconds = 3, 4.0
        try:
            box = Sandbox(tmp_path)
            box.run("migrate", "-v0")
            box.run(
                "shell",
                "-c",
                RUN.format(
                    calls=f"life.setup(url={subscriber.url!r}, secret={SECRET!r}); life.first_half(); life.sweep_now()"
                ),
            )
            first = box.start(tmp_path / "worker-1.log", "worker", "--workers", "1")
            try:
                wait_until(lambda: len(subscriber.received) >= 3, timeout=60, what="the slow third post")
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=5)
            finally:
                if first.poll() is None:
                    first.kill()
            in_flight = box.query("SELECT subject FROM messaging_outboxmessage WHERE status = 'sending'")
            assert [row[0] for row in in_flight] == [subscriber.received[2].json["id"]]

            time.sleep(LEASE_SECONDS + 0.5)
            second = box.start(tmp_path / "worker-2.log", "worker")
            try:
                wait_until(
                    lambda: len(events(box)) >= 5 and webhook_statuses(box) == {"sent": len(events(box))},
                    timeout=60,
                    what="every event to be delivered",
                )
            finally:
                assert stop(second) == 0
        finally:
            server.shutdown()
            server.server_close()

        ids = [post.json["id"] for post in subscriber.received]
        repeated = {i for i in ids if ids.count(i) > 1}
        assert repeated == {subscriber.received[2].json["id"]} and ids.count(subscriber.received[2].json["id"]) == 2
        assert len(set(ids)) == len(events(box))  # de-duplicated by id, every event once
        again = [post for post in subscriber.received if post.json["id"] in repeated]
        assert again[0].body == again[1].body
        assert all(verify(secret=SECRET, headers=post.headers, body=post.body) for post in subscriber.received)
