"""The dashboard's pure decisions: session expiry, CSRF comparison, links,
headers, queue windows and ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porthook.ui import rules

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
IDLE_S, MAX_S = 1800.0, 43200.0


@pytest.mark.parametrize(("created", "last_seen", "now", "state"), [
    (T0, T0, T0, rules.SessionState.ACTIVE),  # just signed in
    (T0, T0, T0 + timedelta(seconds=1799), rules.SessionState.ACTIVE),  # idle, not yet
    (T0, T0, T0 + timedelta(seconds=1800), rules.SessionState.IDLE),  # idle timeout reached
    # busy all day, still ended at the absolute lifetime
    (T0, T0 + timedelta(hours=12), T0 + timedelta(hours=12), rules.SessionState.EXPIRED),
    (T0, T0 + timedelta(hours=11, minutes=59), T0 + timedelta(hours=11, minutes=59, seconds=59),
     rules.SessionState.ACTIVE),  # a second before the end
])
def test_session_state(created: datetime, last_seen: datetime, now: datetime,
                       state: rules.SessionState) -> None:
    assert rules.session_state(created_at=created, last_seen_at=last_seen, now=now,
                               idle_s=IDLE_S, max_s=MAX_S) == state


@pytest.mark.parametrize(("seconds", "touch"), [
    (0, False),  # this very request
    (59, False),  # recent enough: no write
    (60, True),  # a minute on: last_seen_at moves
])
def test_should_touch(seconds: int, touch: bool) -> None:
    assert rules.should_touch(last_seen_at=T0, now=T0 + timedelta(seconds=seconds)) is touch


@pytest.mark.parametrize(("given", "ok"), [
    ("abc123", True),  # the session's own token
    ("abc124", False),  # another token
    ("", False),  # empty field
    (None, False),  # no field at all
    (["abc123"], False),  # not a string (a repeated field)
])
def test_csrf_matches(given: object, ok: bool) -> None:
    assert rules.csrf_matches("abc123", given) is ok


@pytest.mark.parametrize(("used", "now", "usable"), [
    (None, T0, True),  # fresh
    (T0, T0, False),  # used once already
    (None, T0 + timedelta(minutes=15), False),  # expired
])
def test_link_usable(used: datetime | None, now: datetime, usable: bool) -> None:
    assert rules.link_usable(expires_at=T0 + timedelta(minutes=15), used_at=used,
                             now=now) is usable


def test_security_headers_forbid_inline_scripts_and_framing_by_default() -> None:
    headers = rules.security_headers(frame_ancestors="'none'")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    allowed = rules.security_headers(frame_ancestors="https://reseller.example")
    assert "frame-ancestors https://reseller.example" in allowed["Content-Security-Policy"]
    assert "X-Frame-Options" not in allowed  # it cannot name a site; CSP does


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=30), "0 min"),  # under a minute
    (timedelta(minutes=7), "7 min"),
    (timedelta(hours=5, minutes=12), "5 h 12 min"),
    (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),  # minutes dropped past a day
    (timedelta(seconds=-5), "0 min"),  # clock skew never reads negative
])
def test_format_age(delta: timedelta, text: str) -> None:
    assert rules.format_age(delta) == text


def test_view_windows() -> None:
    now = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    assert rules.view_window("foc-48h", now) == (now, now + timedelta(hours=48))
    start = datetime(2026, 11, 26, tzinfo=UTC)
    assert rules.view_window("activating-today", now) == (start, start + timedelta(days=1))
    assert rules.view_window("exception", now) is None
