"""Job-worker task of the webhooks (Huey).  Thin: call the idempotent sweep, log.

Every minute the sweep turns the facts the lower apps recorded (order events, answered estimates, surveys, complaint
moves and escalations, bookings and cancellations) into events and queues one outbox message per subscription; the
outbox's own tasks post them, retry them with back-off and take over a dead worker's claim."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.webhooks import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*"), priority=10, name="webhooks.sweep")
@lock_task("webhooks.sweep")
def webhook_sweep() -> dict[str, int]:
    done = services.webhook_sweep()
    logger.info("webhook sweep: %s new events, %s deliveries queued", done["events"], done["deliveries"])
    return done
