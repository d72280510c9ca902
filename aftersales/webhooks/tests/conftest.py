"""Fixtures of the webhooks tests: the service tests' shop (store A of the cast, bays, technicians, a customer with a
car) and a subscriber: a real HTTP server on 127.0.0.1 in a thread that notes every post and answers what the test
tells it to."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aftersales.service.tests.conftest import console_outbox, media_root, shop  # noqa: F401 - fixtures reused


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Subscriber:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer in turn; 200 once they run out
    slow_post: int | None = None  # the number (1, 2, …) of the post answered only after `slow_seconds`
    slow_seconds: float = 0.0

    def types(self) -> list[str]:
        return [r.headers["X-Aftersales-Event-Type"] for r in self.received]


def start_subscriber() -> tuple[Subscriber, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    subscriber = Subscriber(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                subscriber.received.append(Received(headers=dict(self.headers.items()), body=body))
                status = subscriber.answers.pop(0) if subscriber.answers else 200
                slow = len(subscriber.received) == subscriber.slow_post
            if slow:
                time.sleep(subscriber.slow_seconds)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server.RequestHandlerClass = Handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return subscriber, server


@pytest.fixture
def subscriber():
    subscriber, server = start_subscriber()
    yield subscriber
    server.shutdown()
    server.server_close()
