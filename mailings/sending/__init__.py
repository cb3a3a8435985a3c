"""The sending engine: tick, fan-out, dispatch, claim, send, record, reap, finish.

See `processor` for the tick and `batch` for what a worker does with a batch.
"""
