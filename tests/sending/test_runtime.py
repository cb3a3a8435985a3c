"""A worker process's sending state: kept from one batch to the next, dropped by a newly forked process."""

from celery.signals import worker_process_init

from mailings.sending import runtime
from mailings.sending.config import SendingConfig


class Inherited:
    """Stands for the parent's runtime: the child must not close what the parent still uses."""

    closed = False

    def close(self) -> None:
        self.closed = True


class TestProcessState:
    def test_a_process_keeps_one_set_of_circuit_handles(self, monkeypatch):
        monkeypatch.setattr(runtime, "_circuits", None)
        config = SendingConfig.from_settings()
        assert runtime.process_circuits(config) is runtime.process_circuits(config)

    def test_a_new_worker_process_forgets_what_it_inherited_without_closing_it(self, monkeypatch):
        inherited = Inherited()
        config = SendingConfig.from_settings()
        monkeypatch.setattr(runtime, "_runtime", inherited)
        monkeypatch.setattr(runtime, "_executor", (1, object()))
        monkeypatch.setattr(runtime, "_circuits", None)
        parents = runtime.process_circuits(config)
        worker_process_init.send(sender=None)  # what Celery sends in each new pool process
        assert (runtime._runtime, runtime._executor) == (None, None)
        assert runtime.process_circuits(config) is not parents
        assert not inherited.closed
