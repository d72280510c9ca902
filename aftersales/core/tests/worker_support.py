"""Helpers for the tests that run a real `aftersales worker` subprocess on its own data folder and database.

`SlowFileBackend` is a message backend for those subprocesses (AFTERSALES_MESSAGE_BACKEND=<its dotted path>):
it notes each send it begins in DATA_DIR/begun.log, pauses, and then notes the message in DATA_DIR/sent.log,
the stand-in for "the customer's phone received it".
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from aftersales.messaging.backends import SendResult

BACKEND = "aftersales.core.tests.worker_support.SlowFileBackend"
SETTINGS = "aftersales.core.tests.worker_settings"
LEASE_SECONDS = 3  # worker_settings.AFTERSALES_OUTBOX_CLAIM_LEASE


def _note(path: Path, message_id: int) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{message_id}\n")


class SlowFileBackend:
    name = "slow-file"
    pause_seconds = 0.4

    def send(self, message, *, recipient):  # noqa: ANN001 - the backend interface
        _note(settings.DATA_DIR / "begun.log", message.pk)
        time.sleep(self.pause_seconds)
        _note(settings.DATA_DIR / "sent.log", message.pk)
        return SendResult(ok=True, detail="written to sent.log")


class Sandbox:
    """A data folder and an SQLite database of its own, and the environment for `aftersales` subprocesses.

    The database starts as a copy of one migrated once per test process (with the keys that migration ran
    with): migrating an empty SQLite database takes some 15 s of CPU, and the tests' own `migrate` then
    checks that nothing is left to apply.  `migrated=False` starts from nothing."""

    def __init__(self, root: Path, *, migrated: bool = True, **extra_env: str) -> None:
        self.data_dir = root / "data"
        self.data_dir.mkdir()
        self.database = root / "aftersales.sqlite3"
        if migrated:
            template = _migrated_template()
            shutil.copyfile(template.database, self.database)
            for key in KEY_FILES:
                shutil.copy2(template.data_dir / key, self.data_dir / key)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DATABASE_URL", "AFTERSALES_MESSAGE_BACKEND", "DJANGO_SETTINGS_MODULE")
        }
        self.env |= {
            "AFTERSALES_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }

    def run(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "aftersales", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"aftersales {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, log: Path, *args: str) -> subprocess.Popen:
        handle = log.open("w", encoding="utf-8")
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "aftersales", *args], env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )

    def query(self, sql: str, *, database: Path | None = None) -> list[tuple]:
        connection = sqlite3.connect(database or self.database, timeout=10)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def statuses(self) -> Counter:
        return Counter(dict(self.query("SELECT status, COUNT(*) FROM messaging_outboxmessage GROUP BY status")))

    def noted(self, name: str) -> list[int]:
        path = self.data_dir / name
        return [int(line) for line in path.read_text().split()] if path.exists() else []


KEY_FILES = ("secret_key", "field_key", "hash_key")  # what settings write into a new data folder
_template: list[Sandbox] = []


def _migrated_template() -> Sandbox:
    if not _template:
        root = Path(tempfile.mkdtemp(prefix="aftersales-migrated-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        box = Sandbox(root, migrated=False)
        box.run("migrate", "-v0", timeout=300)
        _template.append(box)
    return _template[0]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def stop(process: subprocess.Popen, timeout: float = 15) -> int:
    """Stop a worker politely (SIGINT: finish the running tasks), hard after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Run with `aftersales shell -c` in a sandbox: a store, a customer and N service messages queued through the
# real service (each one's commit hands it to the worker's queue).
QUEUE_MESSAGES = """
from aftersales.config.testing import make_customer, make_group, make_store
from aftersales.messaging.services import message_enqueue
store = make_store(make_group("g1", "测试集团"), "SH01", "上海店")
customer = make_customer(store, name="张三", phone="13812345678")
context = {{"name": "张三", "store": "上海店", "service": "保养", "time": "2026-03-05 09:30", "phone": "021-12345678"}}
for number in range({count}):
    message_enqueue(store=store, template="booking_cancelled", context=context, customer=customer,
                    purpose="service", dedupe_key=f"worker-test-{{number}}")
print("queued", {count})
"""
