"""GTM Intelligence: the `gtm` command and the glue between loaders, dbt and alerts."""

import os

# Nothing may wait on the closed network: no usage telemetry from dlt or dbt, ever.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

__version__ = "0.1.0"
