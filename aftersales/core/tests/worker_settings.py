"""Settings for the job-worker subprocesses that the worker tests start (never the test run's own settings).

The real settings, with a 3-second claim lease on outbox deliveries instead of 10 minutes, so a test can
see a message claimed by a killed worker taken over by the next one without waiting ten minutes.
"""

import datetime as dt

from aftersales.config.settings import *  # noqa: F403

AFTERSALES_OUTBOX_CLAIM_LEASE = dt.timedelta(seconds=3)
