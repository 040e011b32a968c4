"""Signatures on every webhook call. Pure: keys and secrets are passed in.

Standard Webhooks (every endpoint): ``webhook-id`` (the event id, so receivers
deduplicate on it), ``webhook-timestamp`` (unix seconds) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one
space-separated entry per live secret, so during a rotation a receiver holding
either the old or the new ``whsec_`` secret verifies the call. Any Standard
Webhooks library verifies it: ``standardwebhooks.Webhook(secret).verify(body, headers)``.

Telnyx style (endpoints of format ``telnyx``, seed 001): ed25519 over
``f"{timestamp}|{body}"``, sent as ``telnyx-signature-ed25519`` (base64) with
``telnyx-timestamp``. Private keys are the raw 32-byte ed25519 seed (compact to
store; PEM adds nothing for a key that never leaves porthook); public keys are
published as base64 of the raw 32 bytes, the form Telnyx's own SDKs take.
A receiver checks a call like this::

    from porthook.delivery.signing import verify_telnyx
    verify_telnyx(public_key_b64, request.headers, raw_body)  # raises InvalidSignature

or with ``cryptography`` alone: ``Ed25519PublicKey.from_public_bytes(
b64decode(key)).verify(b64decode(sig), f"{ts}|".encode() + raw_body)``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets as _random
from collections.abc import Mapping, Sequence
from datetime import datetime

import cryptography.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64 random bytes
TELNYX_TOLERANCE_S = 300  # same window as Standard Webhooks' verifiers

Timestamp = int | datetime


class InvalidSignature(Exception):
    """A webhook call whose signature (or timestamp) does not check out."""


def _unix_seconds(timestamp: Timestamp) -> int:
    return int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)


def generate_secret() -> str:
    """A fresh ``whsec_`` signing secret for an endpoint."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode()


def sign_headers(
    msg_id: str, timestamp: Timestamp, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given.

    The scheme's HMAC in one OpenSSL call (``hmac.digest``), not through
    ``standardwebhooks.Webhook.sign``: that one builds a Python HMAC object
    and converts the timestamp twice on every call, and a busy worker signs
    thousands of bodies a second. The tests verify every signature with
    ``standardwebhooks`` itself.
    """
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    seconds = str(_unix_seconds(timestamp))
    signed = b"%s.%s.%s" % (msg_id.encode(), seconds.encode(), body)
    signature = " ".join("v1," + base64.b64encode(hmac.digest(_key(secret), signed, "sha256"))
                         .decode() for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": seconds, "webhook-signature": signature}


@functools.lru_cache(maxsize=1024)
def _key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (base64 after the prefix), decoded once."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@functools.lru_cache(maxsize=16)
def _ed25519(private: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(private)


def generate_ed25519_private_key() -> bytes:
    """A new ed25519 private key, as its raw 32 bytes."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def public_key_b64(private: bytes) -> str:
    """The public key to publish for ``private``: base64 of its raw 32 bytes."""
    public = Ed25519PrivateKey.from_private_bytes(private).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _telnyx_message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"|" + body


def telnyx_headers(private: bytes, timestamp: Timestamp, body: bytes) -> dict[str, str]:
    """Seed 001's provider signature headers for one call."""
    seconds = str(_unix_seconds(timestamp))
    signature = _ed25519(private).sign(_telnyx_message(seconds, body))
    return {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": seconds,
    }


def verify_telnyx(
    public_b64: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Timestamp | None = None,
    tolerance_s: int = TELNYX_TOLERANCE_S,
) -> None:
    """Raise ``InvalidSignature`` unless the call was signed by the key's owner.

    With ``now`` given, a timestamp further than ``tolerance_s`` from it is
    refused too (a replayed old call).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    signature, timestamp = lowered.get("telnyx-signature-ed25519"), lowered.get("telnyx-timestamp")
    if not signature or not timestamp:
        raise InvalidSignature("missing telnyx-signature-ed25519 or telnyx-timestamp")
    if not timestamp.isdigit():
        raise InvalidSignature("telnyx-timestamp is not unix seconds")
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        public.verify(base64.b64decode(signature, validate=True), _telnyx_message(timestamp, body))
    except (binascii.Error, ValueError, cryptography.exceptions.InvalidSignature) as error:
        raise InvalidSignature("signature does not match") from error
    if now is not None and abs(_unix_seconds(now) - int(timestamp)) > tolerance_s:
        raise InvalidSignature("timestamp outside the tolerance window")
