"""SSRF guard for webhook targets (completed by the delivery engine).

``check_url`` is called when a URL is accepted (endpoint, per-order
``webhook_url``, porting defaults) and raises ``Unprocessable`` naming the field.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from porthook.config import Settings
from porthook.problems import FieldError, Unprocessable


async def check_url(url: str, settings: Settings, *, field: str = "url") -> None:
    del settings
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable(
            f"{field} must be an absolute http(s) URL",
            errors=[FieldError(field=field, message="expected an absolute http:// or https:// URL")],
        )
