"""The pure helpers of the API benchmark (``bench/api.py``): the numbers it puts
on orders must pass porthook's own number check, or every create is a 422."""

from __future__ import annotations

import math

import pytest

# bench/ holds scripts, not a package: it imports as a namespace package from
# the repository root, which pytest puts on sys.path (tests/ is a package).
from bench import api as bench
from porthook.porting import numbers


def test_every_generated_number_is_valid_unique_and_fictional() -> None:
    capacity = len(bench.AREA_CODES) * len(bench.FICTIONAL_LINES)
    generated = bench.fictional_numbers(capacity)
    assert len(set(generated)) == capacity
    for raw in generated:
        parsed = numbers.parse(raw)
        assert parsed.e164 == raw and parsed.country_code == "US"
        assert parsed.national[3:6] == "555" and 100 <= int(parsed.national[6:]) <= 199


def test_asking_for_more_numbers_than_the_range_holds_fails_early() -> None:
    capacity = len(bench.AREA_CODES) * len(bench.FICTIONAL_LINES)
    with pytest.raises(ValueError, match=str(capacity)):
        bench.fictional_numbers(capacity + 1)


@pytest.mark.parametrize(
    ("samples", "fraction", "expected"),
    [
        ([5.0], 0.99, 5.0),  # one sample is every percentile
        ([3.0, 1.0, 2.0], 0.5, 2.0),  # unsorted input: the middle one
        ([float(i) for i in range(1, 101)], 0.99, 99.0),  # nearest rank: the 99th of 100
        ([float(i) for i in range(1, 101)], 0.5, 50.0),  # nearest rank: the 50th of 100
    ],
)
def test_percentile_is_nearest_rank(samples: list[float], fraction: float, expected: float) -> None:
    assert bench.percentile(samples, fraction) == expected


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(bench.percentile([], 0.5))


def test_the_open_loop_schedule_spaces_requests_evenly() -> None:
    times = bench.open_loop_schedule(4.0, 2.0)
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert bench.open_loop_schedule(0.0, 5.0) == []


def test_the_flat_ratio_compares_the_last_window_with_the_first() -> None:
    latencies = [0.010] * 10 + [0.050] * 80 + [0.012] * 10
    assert bench.flat_ratio(latencies, 10) == 1.2
    assert math.isnan(bench.flat_ratio([], 10))
