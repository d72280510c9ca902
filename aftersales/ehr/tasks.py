"""Job-worker tasks of the e-health record (Huey).  Thin: call the idempotent services, log.

`ehr_sweep` queues one submission per newly settled order (the order is unique on its submission, so a rerun
queues nothing twice); `ehr_deliver_due` uploads what is due, each row claimed with a conditional UPDATE, so two
workers never send the same record.  JT/T 1132 wants the record "in real time after settlement": every minute."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from aftersales.ehr import services

logger = logging.getLogger("aftersales.jobs")


@db_periodic_task(crontab(minute="*"), priority=5, name="ehr.sweep")
@lock_task("ehr.sweep")
def ehr_sweep() -> dict[str, int]:
    queued = services.ehr_sweep()
    accepted = services.ehr_deliver_due()
    logger.info("ehr sweep: %s queued, %s accepted", queued, accepted)
    return {"queued": queued, "accepted": accepted}
