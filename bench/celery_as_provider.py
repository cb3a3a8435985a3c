"""`celery` as the benches start it, but sending every message as the provider named by
`BENCH_PROVIDER` (its rate from `SENDING_PROVIDERS`), to the URL of `SENDING_API_URL`. The
sender names the provider of each request in one place, which is `default` until routing
chooses one per message: `bench/rate_limit.py` starts a second group of workers this way, so
that two providers limited differently send at the same time.

    BENCH_PROVIDER=second python bench/celery_as_provider.py -A backoffice worker ...   (celery's own arguments)
"""

import os
import sys

import harness

harness.setup_django()

from celery.__main__ import main  # noqa: E402

from mailings.sending import sender  # noqa: E402

if __name__ == "__main__":
    sender.DEFAULT_PROVIDER = os.environ["BENCH_PROVIDER"]  # the worker's pool processes are forked from this one
    sys.argv[0] = "celery"
    sys.exit(main())
