"""`celery` as the benches start it, but with the recorder turned off: each batch writes its sent
messages at its end only, in the same UPDATE as its other outcomes, instead of while it goes on
(mailings/sending/recorder.py). `bench/send_throughput.py --without-recorder` starts its
workers this way, so that the recorder's cost is the difference between the two runs.

    python bench/celery_without_recorder.py -A backoffice worker ...   (celery's own arguments)
"""

import sys

import harness

harness.setup_django()

from celery.__main__ import main  # noqa: E402

from mailings.sending import batch  # noqa: E402


class SentAtTheEnd:
    """Takes the place of `SentRecorder`: writes nothing while the batch goes on."""

    recorded = frozenset()

    def __init__(self, *args, **kwargs):
        pass

    async def sent(self, message_id: int, parts: int = 0, last: bool = False) -> None:
        pass


if __name__ == "__main__":
    batch.SentRecorder = SentAtTheEnd  # the worker's pool processes are forked from this one
    sys.argv[0] = "celery"
    sys.exit(main())
