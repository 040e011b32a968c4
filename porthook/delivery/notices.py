"""Mail to an account's people about its endpoints (a person reads these;
they are not events and no endpoint receives them).

The address is the account's contact e-mail, else the one ``fallback`` finds
(the worker passes the porting defaults' contact e-mail: PRODUCT.md puts one
there too, an account created without a contact may have set one only in its
defaults, and a disabled endpoint nobody hears of stays disabled). A lookup
handed in, so that delivery does not reach up into porting.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from porthook.accounts.models import Account
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import senders
from porthook.delivery.models import Endpoint

log = logging.getLogger(__name__)

# Another contact e-mail of an account, read in the given session.
ContactLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[str | None]]


async def tell_endpoint_disabled(
    *, database: Database, mail: senders.MailSender, settings: Settings, endpoint: Endpoint,
    fallback: ContactLookup | None = None,
) -> None:
    """Tell the account that ``endpoint`` was disabled; a failure to mail is
    logged, never raised: the endpoint is disabled whether or not mail goes out."""
    async with database.sessions() as session:
        account = await session.get(Account, endpoint.account_id)
        recipient = account.contact_email if account else None
        if account is not None and not recipient and fallback is not None:
            recipient = await fallback(session, account.id)
    if account is None or not recipient:
        log.warning("endpoint %s was disabled and its account has no contact e-mail "
                    "(account or porting defaults) to tell", endpoint.id)
        return
    try:
        await mail.send(_disabled_message(settings, account.name, recipient, endpoint))
    except (aiosmtplib.SMTPException, OSError):
        log.exception("could not tell %s that endpoint %s was disabled", recipient, endpoint.id)


def _disabled_message(
    settings: Settings, account_name: str, recipient: str, endpoint: Endpoint
) -> EmailMessage:
    target = endpoint.url or endpoint.email_address
    return senders.build_message(
        sender=settings.mail_from, to=recipient,
        subject=f"porthook: endpoint {target} was disabled",
        # Mailed as it is disabled: that moment is the message's date.
        sent_at=endpoint.disabled_at or endpoint.updated_at,
        text=(f"Hello {account_name},\n\nporthook stopped sending to {target} "
              f"(endpoint {endpoint.id}): {endpoint.disabled_reason}.\n\n"
              "Events meant for it are kept. Fix the receiver, then enable the endpoint "
              "(POST /v1/endpoints/{id}/actions/enable) and recover what it missed "
              "(POST /v1/endpoints/{id}/actions/recover).\n"),
    )
