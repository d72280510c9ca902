"""Huey's Redis storage against the machine's Redis on 127.0.0.1:6379 (database 15, emptied before and after);
skipped with the reason when none answers (`.ci/ensure-redis.sh` starts one in CI)."""

import pytest
from huey import PriorityRedisHuey
from huey.exceptions import TaskLockedException

from aftersales.core.tests.worker_support import QUEUE_MESSAGES, Sandbox, stop, wait_until

REDIS_URL = "redis://127.0.0.1:6379/15"
# Every test here empties database 15: keep them in this one file, which pytest-xdist's --dist loadfile (make test)
# runs on one worker, test after test.


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers on 127.0.0.1:6379 ({exc}); run .ci/ensure-redis.sh")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def huey(redis_db):
    return PriorityRedisHuey("aftersales-test", url=REDIS_URL, blocking=False)


class RedisStorageTests:
    def test_a_task_is_stored_in_redis_and_run_from_there_priority_first(self, huey, redis_db):
        @huey.task()
        def add(a, b):
            return a + b

        low = add(1, 2)
        high = huey.enqueue(add.s(40, 2, priority=9))
        assert huey.pending_count() == 2
        assert redis_db.zcard(huey.storage.queue_key) == 2  # it really is in Redis (a sorted set by priority)

        first = huey.dequeue()  # what a worker thread does
        assert first.args == (40, 2)
        huey.execute(first)
        huey.execute(huey.dequeue())
        assert huey.pending_count() == 0
        assert high.get() == 42
        assert low.get() == 3

    def test_a_task_lock_in_redis_admits_one_holder(self, huey):
        lock = huey.lock_task("messaging.outbox_deliver_due")
        with lock:
            assert huey.is_locked("messaging.outbox_deliver_due")
            with pytest.raises(TaskLockedException):
                lock.acquire()
        assert not huey.is_locked("messaging.outbox_deliver_due")


@pytest.mark.worker
class RedisWorkerTests:
    def test_with_redis_url_the_settings_choose_redis_and_a_real_worker_delivers_from_it(self, redis_db, tmp_path):
        box = Sandbox(tmp_path, REDIS_URL=REDIS_URL)
        box.run("migrate", "-v0")
        chosen = box.run(
            "shell",
            "-c",
            "from huey.contrib.djhuey import HUEY; "
            "print(type(HUEY).__name__, HUEY.storage.conn.connection_pool.connection_kwargs['db'])",
        )
        assert chosen.strip().endswith("PriorityRedisHuey 15")
        box.run("shell", "-c", QUEUE_MESSAGES.format(count=3))
        huey = PriorityRedisHuey("aftersales", url=REDIS_URL)
        assert huey.pending_count() == 3  # the three hand-offs wait in Redis
        assert not (box.data_dir / "huey.sqlite3").exists()

        log = tmp_path / "worker.log"
        worker = box.start(log, "worker")
        try:
            wait_until(lambda: box.statuses() == {"sent": 3}, timeout=20, what="the worker to send the messages")
            wait_until(lambda: huey.pending_count() == 0, timeout=5, what="the Redis queue to drain")
        finally:
            assert stop(worker) == 0
        assert "in Redis redis://127.0.0.1:6379/15" in log.read_text()
