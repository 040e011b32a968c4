"""FOC dates as the desk gives them, and desired port dates that have passed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from porthook.porting import rules

NOW = datetime(2030, 1, 15, 3, 0, tzinfo=UTC)  # 22:00 on the 14th in US/Eastern


@pytest.mark.parametrize(("foc_date", "desired_time", "zone", "default_time", "default_zone",
                          "expected"), [
    # a plain date with nothing set: seed 000's system default, 09:00 US/Eastern (EST, -5)
    (date(2030, 1, 20), None, None, None, None, datetime(2030, 1, 20, 14, 0, tzinfo=UTC)),
    # the order's own port time and zone win
    (date(2030, 1, 20), time(7, 30), "US/Pacific", time(12, 0), "US/Central",
     datetime(2030, 1, 20, 15, 30, tzinfo=UTC)),
    # else the account's porting defaults
    (date(2030, 7, 20), None, None, time(12, 0), "US/Central",
     datetime(2030, 7, 20, 17, 0, tzinfo=UTC)),  # CDT, -5
    # a date-time with its offset is that instant
    (datetime(2030, 1, 20, 9, 0, tzinfo=timezone(timedelta(hours=-5))), time(7, 0),
     "US/Pacific", None, None, datetime(2030, 1, 20, 14, 0, tzinfo=UTC)),
])
def test_foc_moment(foc_date: date | datetime, desired_time: time | None, zone: str | None,
                    default_time: time | None, default_zone: str | None,
                    expected: datetime) -> None:
    moment = rules.foc_moment(foc_date, desired_time=desired_time, time_zone=zone,
                              default_time=default_time, default_time_zone=default_zone)
    assert moment == expected and moment.tzinfo == UTC


def test_a_naive_foc_datetime_never_passes() -> None:
    with pytest.raises(ValueError, match="offset"):
        rules.foc_moment(datetime(2030, 1, 20, 9, 0), desired_time=None, time_zone=None,
                         default_time=None, default_time_zone=None)


@pytest.mark.parametrize(("desired", "zone", "past"), [
    (date(2030, 1, 14), None, False),  # today in US/Eastern (it is still the 14th there)
    (date(2030, 1, 13), None, True),  # yesterday
    (date(2030, 1, 14), "US/Pacific", False),  # today in US/Pacific too
    (date(2031, 1, 1), "US/Central", False),  # a future date
])
def test_past_port_date(desired: date, zone: str | None, past: bool) -> None:
    why = rules.past_port_date(desired, time_zone=zone, now=NOW)
    assert (why is not None) is past
    if why:
        assert "2030-01-14" in why and "in the past" in why
