"""The search filters of deliveries as SQL: ``rules.state_of`` and
``rules.status_class`` said over the columns, so a filter runs in the database.

Kept beside nothing else so ``events.service`` can filter events by their
deliveries' state without importing the search (which imports events).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from porthook.delivery import models, rules
from porthook.delivery.models import Delivery, DeliveryAttempt


def state_clause(states: Sequence[str]) -> sa.ColumnElement[bool]:
    """Rows in any of ``states`` (``rules.STATES``)."""
    return sa.or_(*(_one_state(state) for state in states))


def _one_state(state: str) -> sa.ColumnElement[bool]:
    if state == models.PENDING:
        return sa.and_(Delivery.status == models.PENDING, Delivery.last_error.is_(None))
    if state == rules.RETRYING:
        return sa.and_(Delivery.status == models.PENDING, Delivery.last_error.is_not(None))
    return Delivery.status == state


def last_class_clause(classes: Sequence[str]) -> sa.ColumnElement[bool]:
    """Rows whose last attempt's outcome is in any of ``classes``. A row never
    attempted is in none (a skipped row's ``last_error`` names no attempt)."""
    attempted = Delivery.last_attempt_at.is_not(None)
    return sa.and_(attempted, sa.or_(*(
        _code_class(Delivery.last_status_code, Delivery.last_error, name) for name in classes)))


def attempt_class(name: str, *, email: bool) -> sa.ColumnElement[bool]:
    """Attempts whose outcome is of class ``name``. A webhook attempt without a
    status code always failed (its sender records why), so for webhooks the
    class reads the status code alone: on PostgreSQL the stats then read
    ``ix_delivery_attempts_endpoint_time`` only (it INCLUDEs the code). An
    e-mail's outcome is in its error (no error: accepted)."""
    code, error = DeliveryAttempt.status_code, DeliveryAttempt.error
    if email:
        return _code_class(code, error, name)
    if name == "network":
        return code.is_(None)
    if name == "2xx":
        return code.between(100, 299)
    return _code_class(code, error, name)


def attempt_succeeded(*, email: bool) -> sa.ColumnElement[bool]:
    return attempt_class("2xx", email=email)


def attempt_failed(*, email: bool) -> sa.ColumnElement[bool]:
    # Not ``~attempt_succeeded()``: with a NULL status code SQL's NOT of the
    # range test is NULL, and a network failure would count as neither.
    code, error = DeliveryAttempt.status_code, DeliveryAttempt.error
    if not email:
        return sa.or_(code >= 300, code.is_(None))
    return sa.or_(code >= 300, sa.and_(code.is_(None), error.is_not(None)))


def _code_class(
    code: InstrumentedAttribute[int | None], error: InstrumentedAttribute[str | None], name: str
) -> sa.ColumnElement[bool]:
    if name == "network":
        return sa.and_(code.is_(None), error.is_not(None))
    if name == "2xx":
        return sa.or_(code.between(100, 299), sa.and_(code.is_(None), error.is_(None)))
    if name == "5xx":
        return code >= 500
    low = int(name[0]) * 100
    return code.between(low, low + 99)
