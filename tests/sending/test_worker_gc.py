"""A new pool process's garbage collector: its inherited heap frozen, its youngest generation collected less often."""

import gc

import pytest
from celery.signals import worker_process_init

from mailings.sending.worker_gc import YOUNG_THRESHOLD


@pytest.fixture
def collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class TestWorkerCollector:
    def test_a_new_worker_process_freezes_what_it_inherited_and_collects_young_objects_less_often(self, collector):
        gc.unfreeze()
        inherited = object.__new__(type("Inherited", (), {}))  # an object the parent made
        worker_process_init.send(sender=None)  # what Celery sends in each new pool process
        # Frozen: in the permanent generation, which no collection walks and get_objects() leaves out.
        assert gc.get_freeze_count() > 0
        assert not any(o is inherited for o in gc.get_objects())
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == (10, 10)  # the older generations as Python sets them
