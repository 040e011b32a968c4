"""Standard Webhooks signatures (every endpoint) and seed 001's ed25519 signature."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook, WebhookVerificationError

from porthook.delivery import signing

BODY = b'{"type":"porting_order.created","data":{"id":"e1"}}'


def test_generated_secret_is_a_standard_webhooks_secret() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == signing.SECRET_BYTES
    assert signing.generate_secret() != secret


def test_one_secret_verifies_with_the_library() -> None:
    secret = signing.generate_secret()
    now = int(time.time())
    headers = signing.sign_headers("evt_1", now, BODY, [secret])
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(now)
    assert Webhook(secret).verify(BODY, headers) == {"type": "porting_order.created",
                                                     "data": {"id": "e1"}}


def test_during_rotation_old_and_new_secrets_both_verify() -> None:
    old, new, stranger = (signing.generate_secret() for _ in range(3))
    headers = signing.sign_headers("evt_2", datetime.now(UTC), BODY, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(entry.startswith("v1,") for entry in headers["webhook-signature"].split(" "))
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)


def test_tampered_body_fails() -> None:
    secret = signing.generate_secret()
    headers = signing.sign_headers("evt_3", int(time.time()), BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"e1", b"e2"), headers)


def test_no_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        signing.sign_headers("evt_4", 0, BODY, [])


def test_telnyx_signature_verifies_with_the_published_key() -> None:
    private = signing.generate_ed25519_private_key()
    assert len(private) == 32
    public = signing.public_key_b64(private)
    headers = signing.telnyx_headers(private, 1_700_000_000, BODY)
    assert headers["telnyx-timestamp"] == "1700000000"
    signing.verify_telnyx(public, headers, BODY)
    # ...and with nothing but `cryptography`, as a receiver would.
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(
        base64.b64decode(headers["telnyx-signature-ed25519"]), b"1700000000|" + BODY)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY + b" "}, "signature"),  # body altered in transit
        ({"telnyx-timestamp": "1700000001"}, "signature"),  # timestamp altered
        ({"telnyx-signature-ed25519": "not base64!"}, "signature"),  # garbage signature
        ({"telnyx-timestamp": ""}, "missing"),  # header dropped
        ({"telnyx-timestamp": "soon"}, "unix seconds"),  # not a timestamp at all
        ({"key": "other"}, "signature"),  # signed by someone else
    ],
)
def test_telnyx_verification_refuses(change: dict[str, object], reason: str) -> None:
    private = signing.generate_ed25519_private_key()
    public = signing.public_key_b64(private)
    headers = signing.telnyx_headers(private, 1_700_000_000, BODY)
    body = change.get("body", BODY)
    assert isinstance(body, bytes)
    headers |= {k: str(v) for k, v in change.items() if k.startswith("telnyx-")}
    if "key" in change:
        public = signing.public_key_b64(signing.generate_ed25519_private_key())
    with pytest.raises(signing.InvalidSignature, match=reason):
        signing.verify_telnyx(public, headers, body)


def test_telnyx_verification_checks_the_window_when_asked() -> None:
    private = signing.generate_ed25519_private_key()
    public = signing.public_key_b64(private)
    headers = signing.telnyx_headers(private, 1_700_000_000, BODY)
    signing.verify_telnyx(public, headers, BODY, now=1_700_000_000 + 300)
    with pytest.raises(signing.InvalidSignature, match="tolerance"):
        signing.verify_telnyx(public, headers, BODY, now=1_700_000_000 + 301)


def test_header_names_are_case_insensitive_on_verify() -> None:
    private = signing.generate_ed25519_private_key()
    headers = {k.title(): v for k, v in signing.telnyx_headers(private, 5, BODY).items()}
    signing.verify_telnyx(signing.public_key_b64(private), headers, BODY)
