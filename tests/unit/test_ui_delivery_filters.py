"""The delivery log's GET form as the API's delivery filter, and the endpoint
form's custom headers: pure, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from porthook.problems import Unprocessable
from porthook.ui import forms
from porthook.ui.delivery_routes import delivery_filter


def test_the_log_form_becomes_the_apis_filter_with_whole_utc_days() -> None:
    endpoint = uuid.uuid4()
    where = delivery_filter(state=["dead", ""], endpoint_id=endpoint, event_type="record.*",
                            status_class=["5xx"], created_from=date(2026, 3, 1),
                            created_to=date(2026, 3, 2))
    assert where.states == ["dead"] and where.status_classes == ["5xx"]
    assert where.endpoint_id == endpoint and where.event_types == ["record.*"]
    assert where.created_after == datetime(2026, 3, 1, tzinfo=UTC)
    assert where.created_before == datetime(2026, 3, 3, tzinfo=UTC)  # the 2nd included


def test_unknown_states_and_classes_name_the_field() -> None:
    with pytest.raises(Unprocessable) as state:
        delivery_filter(state=["lost"], endpoint_id=None, event_type=None, status_class=[],
                        created_from=None, created_to=None)
    assert state.value.errors[0].field == "state"
    with pytest.raises(Unprocessable) as status_class:
        delivery_filter(state=[], endpoint_id=None, event_type=None, status_class=["6xx"],
                        created_from=None, created_to=None)
    assert status_class.value.errors[0].field == "status_class"


def test_empty_form_values_mean_any() -> None:
    assert forms.optional_uuid("", "endpoint_id") is None
    assert forms.optional_date("", "created_from") is None
    assert forms.optional_date("2026-03-01", "created_from") == date(2026, 3, 1)
    with pytest.raises(Unprocessable):
        forms.optional_uuid("nope", "endpoint_id")
    with pytest.raises(Unprocessable):
        forms.optional_date("soon", "created_from")


def test_custom_headers_one_name_and_value_a_line() -> None:
    assert forms.header_lines("X-Tenant: acme\n\nX-Env:  prod : eu \n", "headers") == {
        "X-Tenant": "acme", "X-Env": "prod : eu"}
    assert forms.header_lines(None, "headers") == {}
    with pytest.raises(Unprocessable) as bad:
        forms.header_lines("no colon", "headers")
    assert bad.value.errors[0].field == "headers"
