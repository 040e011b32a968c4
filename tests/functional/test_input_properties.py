"""Property: whatever JSON a client sends to the write routes, porthook answers
with a 2xx or a 4xx problem document, never a 5xx (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AccountFactory

# Scalars that have broken databases before: NUL, huge integers, odd floats,
# naive and offset date-times, dates, URLs with hosts the IDNA codec refuses.
scalars = (
    st.none() | st.booleans() | st.text(max_size=30)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["\x00", "2030-01-15", "2030-01-15T10:00:00", "2030-01-15T10:00:00Z",
                       "http://a..b/", "http://[fe80::1%25eth0]/", "", "+12125550101",
                       "3125550100", "business", "did", "US/Eastern", "25:00"])
)
values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=8), children, max_size=3),
                      max_leaves=12)

ROUTES = ("/v1/porting-orders", "/v1/records/call_flows", "/v1/records/dids",
          "/v1/records/subscriptions", "/v1/records/lnp_requests", "/v1/endpoints",
          "/v1/portability-checks")
FIELDS = ("phone_numbers", "desired_port_date", "desired_port_time", "webhook_url", "url",
          "end_user", "flow_name", "flow_data", "number", "product_type", "product_id",
          "bill_day_of_month", "numbers", "business_name", "event_types")
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6) | values


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=bodies)
async def test_generated_bodies_never_get_a_5xx(
    client: httpx.AsyncClient, make_account: AccountFactory, route: str, body: Any,
) -> None:
    _, headers = await make_account()
    response = await client.post(route, content=json.dumps(body).encode(),
                                 headers=headers | {"Content-Type": "application/json"})
    assert response.status_code < 500, (route, body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=st.dictionaries(
    st.sampled_from(["cursor", "limit", "status", "phone_number", "occurred_after",
                     "customer_reference", "number", "call_flow_id"]),
    st.text(max_size=20) | st.integers(min_value=-(2**70), max_value=2**70).map(str),
    max_size=3))
async def test_generated_queries_never_get_a_5xx(
    client: httpx.AsyncClient, make_account: AccountFactory, query: dict[str, str],
) -> None:
    _, headers = await make_account()
    for route in ("/v1/porting-orders", "/v1/events", "/v1/records/dids"):
        response = await client.get(route, params=query, headers=headers)
        assert response.status_code < 500, (route, query, response.text)
