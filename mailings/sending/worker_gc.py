"""The garbage collector of a Celery pool process, set for sending.

A pool process inherits everything its parent loaded (Django, the models, the app), some
hundreds of thousands of objects that live as long as it does. Sending allocates and frees
a few dozen objects per message, nearly all freed at once by their reference counts; yet
with the default thresholds (700, 10, 10) each 700 net allocations start a collection, and
every hundredth walks the whole inherited heap. Measured on a batch of 10,000 messages
(`bench/send_throughput.py` and a batch sent in one process): about 50-60 µs of CPU per
message went to collections, a fifth of the worker's CPU.

So, once in each new pool process (Celery's `worker_process_init`, connected in
`mailings.apps`):

- `gc.freeze()` moves what it inherited to the permanent generation, which no collection
  walks (the Python documentation's advice for a process forked without exec);
- the youngest generation's threshold goes up to `YOUNG_THRESHOLD`: a collection every
  that many net allocations instead of 700. The cycles it finds wait that much longer: a few
  megabytes at most.

Together they bring the collector's share to about 1 µs per message.
"""

import gc

YOUNG_THRESHOLD = 20_000


def tune_worker_gc(**_signal_kwargs) -> None:
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
