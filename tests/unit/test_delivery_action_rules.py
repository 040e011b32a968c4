"""Pure rules behind issue 14's actions, headers and rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porthook.delivery import rules

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("leased", "lease_ends_in_s", "expected"), [
    (True, 30.0, True),  # a worker holds it: a retry leaves it alone
    (True, 0.0, False),  # the lease ends now: due again, anyone may take it
    (True, -5.0, False),  # its worker died: the lease ran out
    (False, 30.0, False),  # not leased: merely scheduled for later
    (False, -5.0, False),  # not leased and due
])
def test_in_flight(leased: bool, lease_ends_in_s: float, expected: bool) -> None:
    assert rules.in_flight(lease_token_set=leased,
                           lease_expires_at=NOW + timedelta(seconds=lease_ends_in_s),
                           now=NOW) is expected


@pytest.mark.parametrize(("headers", "problem"), [
    ({"X-Tenant": "acme"}, None),  # an ordinary header
    ({"X-Api-Key": "k\tv with spaces"}, None),  # tab and spaces are allowed in values
    ({"x!#$%&'*+-.^_`|~9": "v"}, None),  # every token character
    ({}, None),  # none at all
    ({"Content-Type": "text/plain"}, "'Content-Type' is reserved"),  # the body's own
    ({"authorization": "Bearer x"}, "'authorization' is reserved"),  # credentials' job
    ({"Webhook-Signature": "x"}, "'Webhook-Signature' is reserved"),  # Standard Webhooks
    ({"telnyx-timestamp": "1"}, "'telnyx-timestamp' is reserved"),  # seed 001's signature
    ({"Host": "evil.test"}, "'Host' is reserved"),  # the connection's
    ({"Transfer-Encoding": "chunked"}, "'Transfer-Encoding' is reserved"),  # framing
    ({"User-Agent": "me"}, "'User-Agent' is reserved"),  # porthook names itself
    ({"X Bad": "v"}, "'X Bad': a name is"),  # a space is not a token character
    ({"X-Ünï": "v"}, "'X-Ünï': a name is"),  # non-ASCII names
    ({"": "v"}, "'': a name is"),  # empty
    ({"X-" + "a" * 100: "v"}, "a name is 1 to 100"),  # too long
    ({"X-A": "line\r\nX-Injected: 1"}, "'X-A': a value"),  # CR/LF: header injection
    ({"X-A": "nul\x00"}, "'X-A': a value"),  # NUL
    ({"X-A": "é"}, "'X-A': a value"),  # non-ASCII values
    ({"X-A": "v" * 1001}, "'X-A': a value is at most 1000"),  # too long
    ({"X-A": "1", "x-a": "2"}, "'x-a' is given twice"),  # names are case-insensitive
    ({f"X-{i}": "v" for i in range(21)}, "at most 20 headers, got 21"),  # too many
    ({f"X-{i}": "v" * 999 for i in range(9)}, "together at most 8192"),  # too big in all
])
def test_header_problems(headers: dict[str, str], problem: str | None) -> None:
    problems = rules.header_problems(headers)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("calls_at", "rate", "burst", "waits"), [
    ([0.0], 2.0, 1.0, [0.0]),  # a fresh bucket is full: the first call goes at once
    ([0.0, 0.0, 0.0], 2.0, 1.0, [0.0, 0.5, 1.0]),  # a burst is spaced 1/rate apart
    ([0.0, 0.5, 1.0], 2.0, 1.0, [0.0, 0.0, 0.0]),  # calls at the rate never wait
    ([0.0, 0.1], 2.0, 1.0, [0.0, 0.4]),  # too soon: waits the rest of the spacing
    ([0.0, 10.0, 10.0], 2.0, 1.0, [0.0, 0.0, 0.5]),  # an idle bucket refills to its burst only
    ([0.0, 0.0, 0.0, 0.0], 1.0, 2.0, [0.0, 0.0, 1.0, 2.0]),  # a burst of two goes at once
    ([0.0, 0.0], 0.1, 1.0, [0.0, 10.0]),  # slow rates: ten seconds apart
    ([0.0, 0.0, 0.25], 2.0, 1.0, [0.0, 0.5, 0.75]),  # booked turns queue up behind each other
])
def test_take_token(calls_at: list[float], rate: float, burst: float, waits: list[float]) -> None:
    bucket = None
    got = []
    for now in calls_at:
        wait_s, bucket = rules.take_token(bucket, now=now, rate_per_s=rate, burst=burst)
        got.append(wait_s)
    assert got == pytest.approx(waits)
