"""Job-worker tasks of the outbox (Huey).  Thin: call a service, log; the services hold the rules.

`outbox_deliver_message` is queued after the commit that created a message (services._deliver_after_commit).
`outbox_deliver_due` is the sweep that catches everything else — retries, messages held back by quiet
hours, and messages whose worker died half-way (their claim expires).  The sweep is idempotent: a
second run at the same moment sends nothing, because each row is claimed with a conditional UPDATE.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from aftersales.messaging import services

logger = logging.getLogger("aftersales.jobs")

SWEEP_PRIORITY = 10  # the sweeps go before single deliveries queued in a burst


@db_task()
def outbox_deliver_message(message_id: int) -> bool:
    sent = services.outbox_deliver(message_id=message_id)
    logger.info("outbox #%s: %s", message_id, "sent" if sent else "not sent now (done, held or taken)")
    return sent


@db_periodic_task(crontab(minute="*"), priority=SWEEP_PRIORITY)
@lock_task("messaging.outbox_deliver_due")
def outbox_deliver_due() -> int:
    sent = services.outbox_deliver_due()
    logger.info("outbox sweep: %s sent", sent)
    return sent
