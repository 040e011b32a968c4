"""The pure parts of ``porthook listen``, ``verify`` and ``trigger``: where a
listener may forward, its back-off, its header flag, what ``verify`` says of
a captured request, and that every porting event type of the catalog can be
triggered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from porthook.delivery import listeners, relay, signing, verify
from porthook.events.types import EventType
from porthook.porting import trigger

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type":"porting_order.created","data":{"id":"x"}}'


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://localhost:3000/hook", True),  # the usual dev server
    ("http://127.0.0.1:3000/hook", True),
    ("http://127.8.9.10/hook", True),  # all of 127/8 is loopback
    ("http://[::1]:3000/hook", True),
    ("http://api.localhost/hook", True),  # *.localhost resolves to loopback (RFC 6761)
    ("https://example.com/hook", False),  # the account's events leave the machine
    ("http://10.0.0.5/hook", False),  # private is not loopback
    ("http://localhost.example.com/hook", False),  # only a suffix of a real domain
    ("ftp://localhost/hook", False),  # not HTTP
    ("localhost:3000", False),  # no scheme
])
def test_loopback_only_by_default(url: str, allowed: bool) -> None:
    assert (relay.loopback_refusal(url) is None) is allowed


@pytest.mark.parametrize(("failures", "wait_s"), [
    (0, 0.0),  # connected: no wait
    (1, 1.0),  # the first failure
    (2, 2.0),
    (5, 16.0),
    (6, 30.0),  # capped
    (50, 30.0),  # still capped, no overflow
])
def test_reconnection_backoff_doubles_up_to_a_cap(failures: int, wait_s: float) -> None:
    assert relay.backoff_s(failures) == wait_s


@pytest.mark.parametrize(("text", "pair"), [
    ("X-Env: dev", ("X-Env", "dev")),
    ("X-Env:dev", ("X-Env", "dev")),  # no space
    ("Authorization: Bearer a:b", ("Authorization", "Bearer a:b")),  # colons in the value
])
def test_header_flag(text: str, pair: tuple[str, str]) -> None:
    assert relay.parse_header(text) == pair


@pytest.mark.parametrize("text", ["X-Env", ": dev", ""])
def test_header_flag_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected 'Name: value'"):
        relay.parse_header(text)


def test_the_listener_secret_is_stable_per_key_and_name() -> None:
    one = listeners.derived_secret(key_hash="abc", name="dev")
    assert one == listeners.derived_secret(key_hash="abc", name="dev")
    assert one != listeners.derived_secret(key_hash="abc", name="ci")
    assert one != listeners.derived_secret(key_hash="abd", name="dev")
    # A secret the Standard Webhooks library takes, signing as porthook does.
    headers = signing.sign_headers("msg_1", NOW, BODY, [one])
    assert Webhook(one).sign("msg_1", NOW, BODY.decode()) == headers["webhook-signature"]


def _captured(body: bytes = BODY, *, at: datetime = NOW, secret: str = SECRET,
              line_ends: str = "\r\n", length: int | None = None) -> bytes:
    headers = signing.sign_headers(str(uuid.uuid4()), at, body, [secret])
    headers["content-length"] = str(len(body) if length is None else length)
    head = "".join(f"{k}: {v}{line_ends}" for k, v in headers.items())
    return f"POST /hook HTTP/1.1{line_ends}{head}{line_ends}".encode() + body


def _check(raw: bytes, *, secret: str = SECRET, now: datetime = NOW) -> list[str]:
    headers, body = verify.parse_request(raw)
    return verify.check_standard(secret, headers, body, now=now)


def test_a_genuine_capture_verifies() -> None:
    assert _check(_captured()) == []
    assert _check(_captured(line_ends="\n")) == []  # pasted with LF line ends
    assert _check(_captured() + b"\n") == []  # an editor's final newline


@pytest.mark.parametrize(("raw", "secret", "says"), [
    # Another endpoint's secret.
    (_captured(), "whsec_" + "A" * 32, "does not match"),
    # The body re-serialised or edited after signing.
    (_captured().replace(b'"x"', b'"y"'), SECRET, "does not match"),
    # Trimmed on the way: Content-Length tells.
    (_captured(length=len(BODY) + 5), SECRET, "body changed"),
    # Replayed or clocks apart.
    (_captured(at=NOW - timedelta(minutes=10)), SECRET, "timestamp skew"),
    (_captured(at=NOW + timedelta(minutes=10)), SECRET, "in the future"),
    (_captured(), "not-a-secret", "does not start with whsec_"),
    (b"content-type: application/json\r\n\r\n{}", SECRET, "missing header(s): webhook-id"),
])
def test_a_failing_capture_says_why(raw: bytes, secret: str, says: str) -> None:
    problems = _check(raw, secret=secret)
    assert any(says in problem for problem in problems), problems


def test_telnyx_capture() -> None:
    private = signing.generate_ed25519_private_key()
    public = signing.public_key_b64(private)
    headers = signing.telnyx_headers(private, NOW, BODY)
    assert verify.check_telnyx(public, headers, BODY, now=NOW) == []
    assert any("signature does not match" in p
               for p in verify.check_telnyx(public, headers, BODY + b" ", now=NOW))
    later = NOW + timedelta(minutes=6)
    assert any("timestamp skew" in p for p in verify.check_telnyx(public, headers, BODY,
                                                                   now=later))
    assert verify.check_telnyx("***", headers, BODY, now=NOW)[0].startswith("the public key")


def test_a_capture_without_a_body_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="no blank line"):
        verify.parse_request(b"POST / HTTP/1.1\r\nwebhook-id: x")


def test_every_porting_order_event_type_can_be_triggered() -> None:
    porting = {t.value for t in EventType if t.value.startswith("porting_order.")}
    assert set(trigger.PLANS) == porting
    # Each plan's last step is the move that records its type; desk moves need a desk key.
    assert not trigger.needs_desk("porting_order.created")
    assert trigger.needs_desk("porting_order.numbers_activated")
