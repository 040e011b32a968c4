"""Tables of the delivery domain: endpoints, profiles, the deliveries queue, attempts.

The ``deliveries`` table IS the queue. A row is due when ``status = 'pending'``,
``next_attempt_at <= now`` and it is not leased (no ``lease_token``, or its
``lease_expires_at`` has passed); a worker that dies mid-send simply lets its
rows' leases run out (no separate lease sweeper). The lease lives in columns
no index reads, so a claim and a lease renewal are HOT updates on PostgreSQL
(no new index entry; the table keeps free room in each page for them): a
claim that moved ``next_attempt_at`` wrote a new entry into every index of
the table, more than half of PostgreSQL's CPU per delivery.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from porthook.db import Base, BigIntPK, new_id

# Delivery statuses.
PENDING = "pending"  # waiting for its next attempt (or leased by a worker)
DELIVERED = "delivered"
DEAD = "dead"  # retries exhausted, or its endpoint answered 410
HELD = "held"  # its endpoint is disabled: kept for enable + recover

# Endpoint origins: who made the endpoint.
ORIGIN_USER = "user"  # POST /v1/endpoints
ORIGIN_DEFAULTS = "porting_defaults"  # the account's default webhook URL (seed 000)
ORIGIN_ORDER = "porting_order"  # an order's own webhook_url (seed 001)
ORIGIN_LISTENER = "listener"  # a `porthook listen` session (delivery.listeners)

_PENDING_ONLY = sa.text("status = 'pending'")
_ORDERED_OPEN = sa.text("ordered AND status IN ('pending', 'held')")
_STUCK = sa.text("status IN ('dead', 'held')")
_OPEN = sa.text("status IN ('pending', 'dead', 'held')")
_RETRYING = sa.text("status = 'pending' AND last_error IS NOT NULL")
# Percent of a deliveries page filled by inserts; the rest takes the claims'
# row versions (migration 9d4c6b1e2f70). A claim takes the rows of a page
# together (inserted together, due together), so each must fit twice: at 70
# only two claims in five were HOT (bench/pg_rows.py), at 50 all of them.
FILLFACTOR = 50


class NotificationProfile(Base):
    """A group of channels (seed 001's notification profiles)."""

    __tablename__ = "notification_profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    # Patterns such as "porting_order.*": the profile's setting (seed 001's
    # "Port In Notifications") narrows what its channels receive.
    event_types: Mapped[list[Any]]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Endpoint(Base):
    """Where an account's events go: a webhook URL or an e-mail address."""

    __tablename__ = "endpoints"
    __table_args__ = (sa.Index("ix_endpoints_account_origin_url", "account_id", "origin", "url"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("notification_profiles.id", ondelete="SET NULL"), index=True
    )
    origin: Mapped[str] = mapped_column(sa.String(20), default=ORIGIN_USER)
    channel: Mapped[str] = mapped_column(sa.String(16))  # webhook | email
    url: Mapped[str | None] = mapped_column(sa.String(2048))
    email_address: Mapped[str | None] = mapped_column(sa.String(320))
    format: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    event_types: Mapped[list[Any]]
    # A listener's ``--order``: only the events of this subject (a porting
    # order's id) become its deliveries; None takes every subject.
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    # {"type": "basic", "username", "password"} | {"type": "bearer", "token"}:
    # sent on each call, never returned by the API.
    credentials: Mapped[dict[str, Any] | None]
    # {name: value}: extra headers sent on each webhook call; write-only like
    # the credentials (the API shows the names only).
    headers: Mapped[dict[str, Any] | None]
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    failing_notified: Mapped[bool] = mapped_column(default=False)
    strict_ordering: Mapped[bool] = mapped_column(default=False)
    max_concurrency: Mapped[int | None]
    # Calls a second at most, per worker process (a token bucket per lane).
    rate_limit_per_s: Mapped[float | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Delivery(Base):
    """One event for one endpoint, with its retry state and lease."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id"),
        # The claim scans this partial index in due order: with a million
        # pending rows it still reads only the rows it takes.
        sa.Index(
            "ix_deliveries_due", "next_attempt_at",
            postgresql_where=_PENDING_ONLY, sqlite_where=_PENDING_ONLY,
        ),
        # Which other endpoints have due rows, and their rows, when the ones
        # this worker holds are all full: without it that question scans the
        # due index past the full endpoints' whole backlog.
        sa.Index(
            "ix_deliveries_endpoint_due", "endpoint_id", "next_attempt_at",
            postgresql_where=_PENDING_ONLY, sqlite_where=_PENDING_ONLY,
        ),
        # Strict ordering looks up an earlier unfinished event of the subject.
        # Partial, like the next one: every claim and outcome writes a new row
        # version into each index whose predicate it meets, so the hot path
        # (unordered rows going pending -> delivered) touches only the primary
        # key, the unique pair and the due index.
        sa.Index(
            "ix_deliveries_ordering", "endpoint_id", "ordering_key", "sequence",
            postgresql_where=_ORDERED_OPEN, sqlite_where=_ORDERED_OPEN,
        ),
        # ``recover`` looks for what died or was held on an endpoint since a
        # time; the stats count its held rows (the status in the key: from the
        # index alone).
        sa.Index(
            "ix_deliveries_endpoint_stuck", "endpoint_id", "status", "created_at",
            postgresql_where=_STUCK, sqlite_where=_STUCK,
        ),
        # Searches (``delivery.search``), newest first: an account's rows, and
        # one endpoint's. Full indexes: the outcome UPDATE writes a new entry
        # into each (the price of listing a million rows without a sort).
        sa.Index("ix_deliveries_account_created", "account_id", "created_at", "id"),
        sa.Index("ix_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
        # A search for what is not delivered (waiting, retrying, dead, held)
        # across an account, where those rows are few among millions delivered.
        # What waits after a failure (``retrying``), newest first: the planner
        # cannot tell from its statistics how many waiting rows have failed.
        # Partial: only those rows' claims and outcomes write to it.
        sa.Index(
            "ix_deliveries_account_retrying", "account_id", "created_at", "id",
            postgresql_where=_RETRYING, sqlite_where=_RETRYING,
        ),
        # Events with a delivery in a state not delivered (GET /v1/events?
        # delivery_status=dead), in the events' order: the index's positions
        # merge with the events' list, so a page reads about its own rows.
        # The status after the position: several states merge the same way
        # (status first, they were one probe per state and event).
        sa.Index(
            "ix_deliveries_open_events", "account_id", "event_position", "status",
            postgresql_where=_OPEN, sqlite_where=_OPEN,
        ),
        # The status in the key: one state's rows come out newest first.
        sa.Index(
            "ix_deliveries_account_open", "account_id", "status", "created_at", "id",
            postgresql_where=_OPEN, sqlite_where=_OPEN,
        ),
        # A search by event type, newest first: a rare type's page is read
        # from here instead of walking the account's newest rows and looking
        # each one's event up. Full (a search covers delivered rows too): one
        # more entry per claim and outcome UPDATE, the price of the search.
        sa.Index("ix_deliveries_account_type", "account_id", "event_type", "created_at", "id"),
        # Events with a retrying delivery, in order, as with the open index
        # above (which cannot tell retrying rows from pending ones without
        # reading each row). Partial: only rows that failed and wait again
        # are written to it.
        sa.Index(
            "ix_deliveries_retrying_events", "account_id", "event_position",
            postgresql_where=_RETRYING, sqlite_where=_RETRYING,
        ),
        # Room in each page for the new row versions of claims and renewals
        # (HOT updates only stay on the row's own page).
        {"postgresql_with": {"fillfactor": FILLFACTOR}},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    # Looked up through the unique (event_id, endpoint_id) pair: no index of its own.
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    # The event's type, copied at fan-out (an event's type never changes) so
    # a search by type reads the deliveries alone (ix_deliveries_account_type).
    # Nullable only so that adding it rewrote no table; fan-out always fills it
    # and the migration that added it filled the rows before it.
    event_type: Mapped[str | None] = mapped_column(sa.String(100))
    # The event's position (its place in the account's list of events), for
    # the same reason: events with a dead delivery come out in order.
    event_position: Mapped[int | None] = mapped_column(sa.BigInteger)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("endpoints.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    # Copied from the endpoint at fan-out so the claim needs no join.
    ordered: Mapped[bool] = mapped_column(default=False)
    ordering_key: Mapped[str] = mapped_column(sa.String(140))  # "<subject_type>:<subject_id>"
    sequence: Mapped[int] = mapped_column(sa.BigInteger)
    attempts: Mapped[int] = mapped_column(default=0)  # every attempt ever (meta.attempt)
    # ``attempts`` when the current retry round began: a redelivery or a
    # recovery starts the schedule afresh without renumbering the attempt log.
    round_start: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    # The lease of the worker (or listener stream) sending the row: in no
    # index, so that claiming and renewing rewrite no index entry.
    lease_token: Mapped[uuid.UUID | None]
    lease_expires_at: Mapped[datetime | None]
    # The last attempt's facts, written by the outcome UPDATE itself, so a
    # search shows what happened last with no join over the attempts.
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_response_excerpt: Mapped[str | None] = mapped_column(sa.String(1024))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


# The planner's estimate of the retrying rows (pending with a last_error):
# without statistics of the two columns together it multiplies their
# frequencies and guesses ~30 times too few, then lists the events of
# delivery_status=retrying by sorting them all instead of merging in order
# (bench/ops.py: 12,000 pages read instead of 110). The migration that made
# ix_deliveries_retrying_events creates it too.
DELIVERY_STATE_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS st_deliveries_status_last_error (mcv) "
    "ON status, last_error FROM deliveries")


def _create_state_statistics(_table: sa.Table, connection: sa.Connection, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(DELIVERY_STATE_STATISTICS))


sa.event.listen(Delivery.__table__, "after_create", _create_state_statistics)


class DeliveryAttempt(Base):
    """One try of a delivery: what was sent where, and what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        # Endpoint stats: outcomes and latencies over a time window, read
        # from the index alone on PostgreSQL (INCLUDE).
        sa.Index("ix_delivery_attempts_endpoint_time", "endpoint_id", "attempted_at",
                 postgresql_include=["status_code", "duration_ms"]),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # No foreign key: its check locked the delivery's row for each attempt
    # written (a WAL record per row, ~10 us of PostgreSQL CPU per delivery,
    # bench/pg_rows.py). The trigger ATTEMPTS_GO_WITH_DELIVERIES removes a
    # delivery's attempts with it, however it is deleted (retention, an
    # endpoint's or account's cascade, a listener's clean-up).
    delivery_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # Copied from the delivery (no foreign key: the delivery's cascade removes
    # the row); null only for attempts recorded before it existed.
    endpoint_id: Mapped[uuid.UUID | None]
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[int]
    delivered_to: Mapped[str] = mapped_column(sa.String(2048))
    status_code: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(sa.String(1024))
    error: Mapped[str | None] = mapped_column(sa.String(1000))


# What the attempts' foreign key did on delete, by trigger. PostgreSQL: once
# per statement over the deleted rows (a cascade runs one statement per
# parent row). A worker writes an attempt only for a row it holds, and its
# outcome UPDATE of that row commits with the attempt: a delete waiting on
# that row sees the attempt once it goes on. An attempt written after its
# delivery is gone (a lease lost, then the row deleted) stays behind, unread
# (every read of attempts goes through its delivery).
ATTEMPTS_GO_WITH_DELIVERIES = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION deliveries_drop_attempts() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM delivery_attempts a USING deleted_deliveries d "
        "WHERE a.delivery_id = d.id; RETURN NULL; END $$",
        "CREATE OR REPLACE TRIGGER tr_deliveries_drop_attempts AFTER DELETE ON deliveries "
        "REFERENCING OLD TABLE AS deleted_deliveries FOR EACH STATEMENT "
        "EXECUTE FUNCTION deliveries_drop_attempts()",
    ),
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS tr_deliveries_drop_attempts AFTER DELETE ON deliveries "
        "BEGIN DELETE FROM delivery_attempts WHERE delivery_id = OLD.id; END",
    ),
}


def _create_attempts_trigger(_table: sa.Table, connection: sa.Connection, **_: Any) -> None:
    for statement in ATTEMPTS_GO_WITH_DELIVERIES.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


# After both tables exist: without the foreign key nothing orders them.
sa.event.listen(Base.metadata, "after_create", _create_attempts_trigger)


class SigningKey(Base):
    """The installation's ed25519 key for telnyx-style signatures.

    Generated once by whichever process needs it first and shared by all
    processes through the database, so every worker signs with the key the API
    publishes.
    """

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    private_key: Mapped[str] = mapped_column(sa.String(200))  # base64 of the raw 32 bytes
    created_at: Mapped[datetime]
