"""Fixtures for the inbox tests: the service tests' shop (store A of the cast), the feedback helpers, and a
local HTTP server on 127.0.0.1 standing in for a WeCom group robot (no other network at test time)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from aftersales.feedback.tests.conftest import agent  # noqa: F401 - fixture re-exported
from aftersales.service.tests.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    console_outbox,
    frozen,
    media_root,
    shanghai,
    shop,
)


@dataclass
class Robot:
    """What the stand-in robot received, and what it answers next (a queue of errcodes; then 0)."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


@pytest.fixture
def robot():
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            bot: Robot = state["robot"]
            bot.posts.append({"path": self.path, "body": body, "content_type": self.headers.get("Content-Type")})
            errcode = bot.answers.pop(0) if bot.answers else 0
            answer = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "invalid webhook url"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    state["robot"] = Robot(url=f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test-robot-key-1234")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["robot"]
    server.shutdown()
    server.server_close()
