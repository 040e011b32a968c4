from porthook.worker_pool import default_processes


def test_postgresql_runs_one_worker_per_core() -> None:
    assert default_processes(sqlite=False, cores=4) == 4


def test_sqlite_runs_one_worker_whatever_the_cores() -> None:
    assert default_processes(sqlite=True, cores=8) == 1


def test_unknown_core_count_means_one() -> None:
    assert default_processes(sqlite=False, cores=None) == 1
