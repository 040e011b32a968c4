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
    """Rows in any of ``states`` (``rules.STATES``). The stored statuses are
    written as literals, not bound parameters: only then can PostgreSQL's
    planner (its generic plans included) prove that a partial index such as
    ``ix_deliveries_account_open`` holds the rows, and estimate them right."""
    wanted = set(states)
    if {models.PENDING, rules.RETRYING} <= wanted:  # together: every waiting row
        wanted -= {models.PENDING, rules.RETRYING}
        stored = {models.PENDING}
    else:
        stored = set()
    stored |= wanted & {models.DELIVERED, models.DEAD, models.HELD}
    clauses = []
    if stored:
        clauses.append(_status_in(sorted(stored)))
    if models.PENDING in wanted:
        clauses.append(sa.and_(_status_in([models.PENDING]), Delivery.last_error.is_(None)))
    if rules.RETRYING in wanted:
        clauses.append(sa.and_(_status_in([models.PENDING]), Delivery.last_error.is_not(None)))
    return sa.or_(*clauses)


def _status_in(statuses: Sequence[str]) -> sa.ColumnElement[bool]:
    # Safe as literals: the values are models' own constants, never user text.
    literals = [sa.literal_column(f"'{status}'", sa.String()) for status in statuses]
    if len(literals) == 1:
        return Delivery.status == literals[0]
    return Delivery.status.in_(literals)


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
