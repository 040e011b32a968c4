"""Key material: generation and hashing (pure, no I/O)."""

from __future__ import annotations

import hashlib
import secrets

ACCOUNT_PREFIX = "ph_live_"
OPERATOR_PREFIX = "ph_op_"
KEY_BYTES = 32  # 256 bits of entropy


def generate(kind: str) -> str:
    prefix = OPERATOR_PREFIX if kind == "operator" else ACCOUNT_PREFIX
    return prefix + secrets.token_urlsafe(KEY_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:12]
