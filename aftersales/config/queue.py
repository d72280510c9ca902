"""The job queue's SQLite storage (settings.HUEY when REDIS_URL is not set).

Huey's own SqliteStorage keeps its file in WAL mode with SQLite's default `synchronous=FULL`: every enqueue waits
for a disk flush, one per message queued (a booking's confirmation), under the queue's exclusive lock. WAL with
`synchronous=NORMAL` (what the project's own SQLite database uses) stays consistent and survives a crash of the
process; only a power loss or an OS crash may forget the last hand-offs. Nothing is lost then: the outbox row is the
state, and the minutely `outbox_deliver_due` sweep delivers any pending message whose hand-off never ran
(docs/performance.md).
"""

from __future__ import annotations

import sqlite3

from huey.api import Huey
from huey.storage import SqliteStorage


class SqliteQueueStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class SqliteHuey(Huey):
    storage_class = SqliteQueueStorage
