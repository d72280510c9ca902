"""Backends that misbehave on purpose, chosen with settings.AFTERSALES_MESSAGE_BACKEND = '<dotted path>'."""

import threading
import time
from typing import ClassVar

from aftersales.messaging.backends import SendResult


class FailingBackend:
    """Every attempt fails in a way worth retrying (a gateway timeout)."""

    name = "failing"
    calls: ClassVar[list[int]] = []

    def send(self, message, *, recipient):
        self.calls.append(message.pk)
        return SendResult(ok=False, detail="gateway timeout")


class RaisingBackend:
    name = "raising"

    def send(self, message, *, recipient):
        raise RuntimeError("backend bug")


class SlowBackend:
    """Succeeds after a pause, so two concurrent workers overlap; counts real sends."""

    name = "slow"
    calls: ClassVar[list[int]] = []
    lock = threading.Lock()

    def send(self, message, *, recipient):
        time.sleep(0.3)
        with self.lock:
            self.calls.append(message.pk)
        return SendResult(ok=True, detail="ok")
