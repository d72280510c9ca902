"""The job queue's SQLite storage: WAL without a disk flush per enqueue (aftersales/config/queue.py)."""

from __future__ import annotations

from pathlib import Path

from aftersales.config.queue import SqliteHuey


def test_queue_file_is_wal_with_synchronous_normal(tmp_path: Path) -> None:
    huey = SqliteHuey("t", filename=str(tmp_path / "q.sqlite3"))
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL (FULL is 2, Huey's default)
    huey.storage.enqueue(b"task")
    assert huey.storage.queue_size() == 1
    assert huey.storage.dequeue() == b"task"


def test_settings_use_it_without_redis() -> None:
    from aftersales.config import settings

    if settings.REDIS_URL:
        assert settings.HUEY["huey_class"] == "huey.PriorityRedisHuey"
    else:
        assert settings.HUEY["huey_class"] == "aftersales.config.queue.SqliteHuey"
