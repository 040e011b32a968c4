"""``porthook verify``: check a captured webhook request's signature and say
why it fails. Pure functions (``now`` passed in), over ``signing``'s own scheme.

A signature cannot tell a wrong secret from a changed body: both give another
HMAC. What can be told apart is said: missing headers, a timestamp outside
the five-minute window, a body whose length is not its ``Content-Length``
(re-encoded or trimmed on the way), a secret that is not a ``whsec_`` one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime

from porthook.delivery import signing

TOLERANCE_S = 300  # Standard Webhooks' window, and seed 001's for telnyx


def parse_request(raw: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-cased names) and body of a raw HTTP request as captured
    (request line optional; CRLF or LF line ends)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    if not sep:
        raise ValueError("no blank line between the headers and the body")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon and " " not in name.strip():
            headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if length.isdigit() and len(body) > int(length) and not body[int(length):].strip():
        body = body[:int(length)]  # the newline an editor or a shell added to the capture
    return headers, body


def check_standard(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
) -> list[str]:
    """What is wrong with a Standard Webhooks signature (empty: it verifies)."""
    problems = _body_problems(headers, body)
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    given = headers.get("webhook-signature")
    missing = [name for name, value in (("webhook-id", msg_id), ("webhook-timestamp", stamp),
                                        ("webhook-signature", given)) if not value]
    if missing:
        return [f"missing header(s): {', '.join(missing)}", *problems]
    assert msg_id is not None and stamp is not None and given is not None
    if not secret.startswith(signing.SECRET_PREFIX):
        return [f"the secret does not start with {signing.SECRET_PREFIX}"]
    try:
        expected = signing.sign_headers(msg_id, int(stamp), body, [secret])["webhook-signature"]
    except (ValueError, binascii.Error):
        return ["the secret or webhook-timestamp is malformed (base64 secret, unix seconds)"]
    skew = _skew(stamp, now)
    if skew is not None:
        problems.append(skew)
    if expected not in given.split():
        problems.append("the signature does not match: the secret is not this endpoint's, "
                        "or the body was changed after it was signed (verify the raw bytes, "
                        "before any JSON parsing)")
    return problems


def check_telnyx(
    public_key_b64: str, headers: Mapping[str, str], body: bytes, *, now: datetime
) -> list[str]:
    """What is wrong with a telnyx-style ed25519 signature (empty: it verifies)."""
    problems = _body_problems(headers, body)
    try:
        base64.b64decode(public_key_b64, validate=True)
    except binascii.Error:
        return ["the public key is not base64 (GET /v1/webhook-signing-key gives it)"]
    try:
        signing.verify_telnyx(public_key_b64, headers, body)
    except signing.InvalidSignature as error:
        problems.append(f"{error}: the key is not this installation's, or the body was "
                        "changed after it was signed")
    stamp = headers.get("telnyx-timestamp")
    skew = _skew(stamp, now) if stamp else None
    if skew is not None:
        problems.append(skew)
    return problems


def _skew(stamp: str, now: datetime) -> str | None:
    if not stamp.isdigit():
        return "the timestamp is not unix seconds"
    off = int(now.timestamp()) - int(stamp)
    if abs(off) <= TOLERANCE_S:
        return None
    when = f"{off} s old" if off > 0 else f"{-off} s in the future"
    return (f"timestamp skew: the request is {when}, outside the {TOLERANCE_S} s window "
            "(a replay, or a clock off)")


def _body_problems(headers: Mapping[str, str], body: bytes) -> list[str]:
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) != len(body):
        return [f"body changed: {len(body)} bytes, but Content-Length says {length}"]
    return []
