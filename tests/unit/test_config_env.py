"""Settings read from ``PORTHOOK_*`` environment variables."""

from __future__ import annotations

import pydantic
import pytest

from porthook.config import Settings


@pytest.mark.parametrize(("raw", "expected"), [
    ("0,5,300", (0.0, 5.0, 300.0)),  # the documented form
    (" 0, 5 ,300 ", (0.0, 5.0, 300.0)),  # spaces around the commas
    ("1.5", (1.5,)),  # a single delay, in fractions of a second
])
def test_retry_schedule_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[float, ...]
) -> None:
    monkeypatch.setenv("PORTHOOK_RETRY_SCHEDULE", raw)
    assert Settings().retry_schedule == expected


@pytest.mark.parametrize(("raw", "field", "message"), [
    ("a,b", "retry_schedule.0", "valid number"),  # not seconds
    ("0,-5", "retry_schedule", "non-negative seconds, e.g. 0,5,300"),  # a delay in the past
    ("", "retry_schedule", "non-negative seconds, e.g. 0,5,300"),  # no delay at all
])
def test_bad_retry_schedule_names_the_setting_and_the_expected_form(
    monkeypatch: pytest.MonkeyPatch, raw: str, field: str, message: str
) -> None:
    monkeypatch.setenv("PORTHOOK_RETRY_SCHEDULE", raw)
    with pytest.raises(pydantic.ValidationError) as raised:
        Settings()
    first = raised.value.errors()[0]
    assert ".".join(str(part) for part in first["loc"]) == field
    assert message in first["msg"]
