"""The collector set-up of a long-running worker process (``porthook worker``, ``serve``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from porthook import worker


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_young_collections_are_rarer_and_start_up_objects_are_frozen() -> None:
    _, middle, old = gc.get_threshold()
    worker.tune_collector()
    assert gc.get_threshold() == (worker.GC_YOUNG_THRESHOLD, middle, old)
    # What exists at start-up (this module among it) is out of later collections.
    assert gc.get_freeze_count() > 0
