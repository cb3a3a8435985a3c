"""The sending engine: tick, fan-out, dispatch, claim, send, record, reap, finish.

- `processor`: the tick (reap, finish, start with `fanout`, re-take audiences, `dispatch`);
- `dispatch`: due messages handed to the workers in batches (the `send_batch` task);
- `batch`: what a worker does with one batch: `claim`, then `sender` decides each
  message and `recorder` writes the outcomes, on the process's `runtime`;
- `circuit` (its state for operators is read by `selectors.provider_status`), `windows`,
  `backoff`, `config`;
- `trial_send`: an operator's test message, sent once to one phone outside any mailing.

Imports go one way: tasks import the engine inside their bodies, the engine imports
the tasks at module level only to dispatch them (`send_batch_task`).
"""
