"""Pure decisions about porting orders: the state machine, editability, submit
completeness, the activation moment and draft expiry. No I/O; ``now`` is passed in.

The state machine is PRODUCT.md's "Statuses and who moves them" (the native
vocabulary of seed 001, ``001_eb60501d0a6d1371.txt``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class OrderStatus(StrEnum):
    DRAFT = "draft"
    IN_PROCESS = "in-process"
    SUBMITTED = "submitted"
    EXCEPTION = "exception"
    FOC_DATE_CONFIRMED = "foc-date-confirmed"
    PORTED = "ported"
    CANCEL_PENDING = "cancel-pending"
    CANCELLED = "cancelled"
    DELETED = "deleted"


class Action(StrEnum):
    """Who may move an order, and how (customer, operator or automatic)."""

    SUBMIT = "submit"  # customer
    RESUBMIT = "resubmit"  # customer, once the exception's fields are fixed
    CANCEL = "cancel"  # customer
    DELETE = "delete"  # customer, or the 30-day draft expiry
    MARK_SUBMITTED = "operator:submitted"
    RAISE_EXCEPTION = "operator:exception"
    CONFIRM_FOC = "operator:foc-date-confirmed"
    CONFIRM_CANCEL = "operator:cancelled"
    PORT = "ported"  # automatic, when no confirmed number is left unactivated


class NumberStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ACTIVATED = "activated"
    CANCELED = "canceled"
    EXCLUDED = "excluded"


class NumberMove(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    EXCLUDE = "exclude"
    ACTIVATE = "activate"


MESSAGING_STATUSES = (
    "not_applicable", "pending", "activating", "exception", "canceled",
    "partial_port_complete", "ported",
)
TIME_ZONES = ("US/Eastern", "US/Central", "US/Mountain", "US/Pacific")
# Seed 000: "System Default Time: 09:00:00 US/Eastern".
SYSTEM_PORT_TIME = time(9, 0, 0)
SYSTEM_PORT_TIME_ZONE = "US/Eastern"

S = OrderStatus
_BEFORE_PORTED = (S.DRAFT, S.IN_PROCESS, S.SUBMITTED, S.EXCEPTION, S.FOC_DATE_CONFIRMED)

# (action, statuses it starts from, status it leads to)
TRANSITIONS: dict[Action, tuple[tuple[OrderStatus, ...], OrderStatus]] = {
    Action.SUBMIT: ((S.DRAFT,), S.IN_PROCESS),
    Action.MARK_SUBMITTED: ((S.IN_PROCESS, S.EXCEPTION), S.SUBMITTED),
    # Seed 001: an exception "when resolved" goes "back to a submitted status".
    Action.RESUBMIT: ((S.EXCEPTION,), S.SUBMITTED),
    Action.RAISE_EXCEPTION: ((S.SUBMITTED,), S.EXCEPTION),
    Action.CONFIRM_FOC: ((S.SUBMITTED,), S.FOC_DATE_CONFIRMED),
    Action.PORT: ((S.FOC_DATE_CONFIRMED,), S.PORTED),
    Action.CANCEL: (_BEFORE_PORTED, S.CANCEL_PENDING),
    Action.CONFIRM_CANCEL: ((S.CANCEL_PENDING,), S.CANCELLED),
    Action.DELETE: ((S.DRAFT,), S.DELETED),
}

OPERATOR_TARGETS: dict[OrderStatus, Action] = {
    S.SUBMITTED: Action.MARK_SUBMITTED,
    S.EXCEPTION: Action.RAISE_EXCEPTION,
    S.FOC_DATE_CONFIRMED: Action.CONFIRM_FOC,
    S.CANCELLED: Action.CONFIRM_CANCEL,
}

# An open order holds its numbers; cancel-pending still holds them (seed 000:
# "During this time you can not submit same numbers on a new order").
CLOSED_STATUSES = frozenset({S.PORTED, S.CANCELLED, S.DELETED})
EDITABLE_STATUSES = frozenset({S.DRAFT, S.EXCEPTION})
# Numbers that left the order no longer hold it.
RELEASED_NUMBER_STATUSES = frozenset({NumberStatus.EXCLUDED, NumberStatus.CANCELED})
# Per-number moves happen while the desk works the order.
NUMBER_MOVE_ORDER_STATUSES: dict[NumberMove, frozenset[OrderStatus]] = {
    NumberMove.CONFIRM: frozenset({S.IN_PROCESS, S.SUBMITTED, S.EXCEPTION, S.FOC_DATE_CONFIRMED}),
    NumberMove.REJECT: frozenset({S.IN_PROCESS, S.SUBMITTED, S.EXCEPTION, S.FOC_DATE_CONFIRMED}),
    NumberMove.EXCLUDE: frozenset({S.IN_PROCESS, S.SUBMITTED, S.EXCEPTION, S.FOC_DATE_CONFIRMED}),
    NumberMove.ACTIVATE: frozenset({S.FOC_DATE_CONFIRMED}),
}
NUMBER_MOVES: dict[NumberMove, tuple[frozenset[NumberStatus], NumberStatus]] = {
    NumberMove.CONFIRM: (frozenset({NumberStatus.PENDING, NumberStatus.REJECTED}),
                         NumberStatus.CONFIRMED),
    NumberMove.REJECT: (frozenset({NumberStatus.PENDING, NumberStatus.CONFIRMED}),
                        NumberStatus.REJECTED),
    NumberMove.EXCLUDE: (frozenset({NumberStatus.PENDING, NumberStatus.CONFIRMED,
                                    NumberStatus.REJECTED}), NumberStatus.EXCLUDED),
    NumberMove.ACTIVATE: (frozenset({NumberStatus.CONFIRMED}), NumberStatus.ACTIVATED),
}
SPLITTABLE_STATUSES = frozenset({S.IN_PROCESS, S.SUBMITTED, S.EXCEPTION})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    target: OrderStatus | None = None
    message: str = ""


def allowed_actions(status: OrderStatus) -> list[Action]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def decide(status: OrderStatus, action: Action) -> Decision:
    """May ``action`` move an order in ``status``? If not, say why and what may."""
    sources, target = TRANSITIONS[action]
    if status in sources:
        return Decision(allowed=True, target=target)
    moves = [f"{a.value} -> {TRANSITIONS[a][1].value}" for a in allowed_actions(status)]
    allowed = ", ".join(moves) if moves else "none (the order is final)"
    return Decision(
        allowed=False,
        message=(
            f"cannot {action.value} a porting order in status {status.value}; "
            f"allowed moves from {status.value}: {allowed}"
        ),
    )


def is_editable(status: OrderStatus) -> bool:
    return status in EDITABLE_STATUSES


def is_open(status: OrderStatus) -> bool:
    return status not in CLOSED_STATUSES


def holds_number(order_status: OrderStatus, number_status: NumberStatus) -> bool:
    return is_open(order_status) and number_status not in RELEASED_NUMBER_STATUSES


def number_move_allowed(number_status: NumberStatus, move: NumberMove) -> bool:
    return number_status in NUMBER_MOVES[move][0]


def should_port(number_statuses: Iterable[NumberStatus]) -> bool:
    """Ported once something was activated and nothing confirmed or pending waits."""
    statuses = list(number_statuses)
    waiting = {NumberStatus.CONFIRMED, NumberStatus.PENDING}
    return NumberStatus.ACTIVATED in statuses and not any(s in waiting for s in statuses)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_for_submit(order: Mapping[str, Any]) -> list[str]:
    """Every field a submit still needs, all at once. ``order`` is the public
    snapshot (``PortingOrderPublic`` as a dict)."""
    end_user = order.get("end_user") or {}
    address = end_user.get("service_address") or {}
    port_out = order.get("port_out") or {}
    missing: list[str] = []
    numbers = [n for n in order.get("phone_numbers", [])
               if n["status"] not in RELEASED_NUMBER_STATUSES]
    if not numbers:
        missing.append("phone_numbers")
    if _blank(order.get("desired_port_date")):
        missing.append("desired_port_date")
    required_end_user = ["location_type", "authorized_person"]
    if end_user.get("location_type") == "residential":
        required_end_user += ["first_name", "last_name"]
    else:
        required_end_user += ["business_name"]
    missing += [f"end_user.{f}" for f in required_end_user if _blank(end_user.get(f))]
    missing += [f"end_user.service_address.{f}" for f in ("line1", "city", "state", "zip")
                if _blank(address.get(f))]
    missing += [f"port_out.{f}" for f in ("losing_carrier", "account_number", "btn")
                if _blank(port_out.get(f))]
    if port_out.get("partial_port") and _blank(port_out.get("partial_port_details")):
        missing.append("port_out.partial_port_details")
    if port_out.get("wireless_number") and not port_out.get("wireless_pin_set"):
        missing.append("port_out.wireless_pin")
    # Seed 000: resellerName "is requirement for canadian numbers only".
    if any(n.get("country_code") == "CA" for n in numbers) and _blank(order.get("reseller_name")):
        missing.append("reseller_name")
    if not any(d.get("document_type") == "loa" for d in order.get("documents", [])):
        missing.append("documents.loa")
    return missing


def activation_moment(
    *,
    desired_date: date,
    desired_time: time | None,
    time_zone: str | None,
    default_time: time | None,
    default_time_zone: str | None,
    foc_date: datetime | None = None,
) -> datetime:
    """The UTC instant at which a scheduled order's numbers are activated.

    Date and time in the order's zone; missing parts come from the account's
    porting defaults, else seed 000's system default 09:00:00 US/Eastern. Never
    before the FOC date the losing carrier confirmed.
    """
    moment_time = desired_time or default_time or SYSTEM_PORT_TIME
    zone = ZoneInfo(time_zone or default_time_zone or SYSTEM_PORT_TIME_ZONE)
    local = datetime.combine(desired_date, moment_time).replace(tzinfo=zone)
    moment = local.astimezone(UTC)
    if foc_date is not None and foc_date > moment:
        return foc_date.astimezone(UTC)
    return moment


def past_port_date(desired: date, *, time_zone: str | None, now: datetime) -> str | None:
    """Why ``desired`` cannot be a desired port date any more, or ``None``: a
    date before today in the order's zone (seed 000's US/Eastern if unset)."""
    zone = time_zone or SYSTEM_PORT_TIME_ZONE
    today = now.astimezone(ZoneInfo(zone)).date()
    if desired >= today:
        return None
    return (f"{desired.isoformat()} is in the past (today is {today.isoformat()} in {zone}); "
            "choose today or a later date")


def foc_moment(
    foc_date: date | datetime,
    *,
    desired_time: time | None,
    time_zone: str | None,
    default_time: time | None,
    default_time_zone: str | None,
) -> datetime:
    """The UTC instant of a FOC date as the desk gave it: a date-time with its
    offset as is; a plain date at the order's port time in the order's zone,
    else the account's defaults, else seed 000's 09:00:00 US/Eastern."""
    if isinstance(foc_date, datetime):
        if foc_date.tzinfo is None:
            raise ValueError("a FOC date-time needs its UTC offset")
        return foc_date.astimezone(UTC)
    return activation_moment(desired_date=foc_date, desired_time=desired_time,
                             time_zone=time_zone, default_time=default_time,
                             default_time_zone=default_time_zone)


def draft_expired(*, status: OrderStatus, updated_at: datetime, now: datetime,
                  expiry_days: int) -> bool:
    """Seed 001: a draft "not submitted within 30 days" is deleted."""
    return status == S.DRAFT and now - updated_at >= timedelta(days=expiry_days)


def draft_expiry_cutoff(now: datetime, expiry_days: int) -> datetime:
    return now - timedelta(days=expiry_days)


# The order fields each exception code asks the customer to change (dotted
# paths of the public order; ``documents.loa`` is a new LOA uploaded). Codes
# absent here are the desk's or the carrier's to resolve (OSP_IRRESPONSIVE,
# LSR_PENDING, SV_*, a split, a feature to remove at the carrier, OTHER): they
# ask for no field. PASSCODE_PIN_INVALID names the PIN, which is write-only:
# its change cannot be seen in a snapshot, so it is shown, never enforced.
EXCEPTION_FIELDS: dict[str, tuple[str, ...]] = {
    "ACCOUNT_NUMBER_MISMATCH": ("port_out.account_number",),
    "AUTH_PERSON_MISMATCH": ("end_user.authorized_person",),
    "BTN_ATN_MISMATCH": ("port_out.btn",),
    "ENTITY_NAME_MISMATCH": ("end_user.business_name", "end_user.first_name",
                             "end_user.last_name"),
    "LOCATION_MISMATCH": ("end_user.service_address",),
    "POSTAL_CODE_MISMATCH": ("end_user.service_address.zip",),
    "PORT_TYPE_INCORRECT": ("port_out.partial_port", "port_out.partial_port_details"),
    "MAIN_BTN_PORTING": ("port_out.btn", "phone_numbers"),
    "PHONE_NUMBER_MISMATCH": ("phone_numbers",),
    "PHONE_NUMBER_NOT_PORTABLE": ("phone_numbers",),
    "RATE_CENTER_NOT_PORTABLE": ("phone_numbers",),
    "FOC_REJECTED": ("desired_port_date", "desired_port_time"),
    "FOC_EXPIRED": ("desired_port_date", "desired_port_time"),
    "LOA_ILLEGIBLE": ("documents.loa",),
}
SHOWN_ONLY_FIELDS: dict[str, tuple[str, ...]] = {"PASSCODE_PIN_INVALID": ("port_out.pin",)}


def fields_to_fix(codes: Iterable[str]) -> list[str]:
    """The fields the customer is asked to change for these exception codes,
    in order, each once, the PIN included (what the fix form lists)."""
    found: list[str] = []
    for code in codes:
        for path in EXCEPTION_FIELDS.get(code, ()) + SHOWN_ONLY_FIELDS.get(code, ()):
            if path not in found:
                found.append(path)
    return found


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), into)
    else:
        into[prefix] = value


def _order_paths(order: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot as dotted paths; the numbers as their set (the desk's moves
    on them are not the customer's fix). Documents are compared apart, by id
    (``changed_paths``); the desk's fields (status, messaging) are left out."""
    flat: dict[str, Any] = {}
    skip = {"phone_numbers", "documents", "comments", "status", "status_details",
            "updated_at", "messaging"}
    _flatten({k: v for k, v in order.items() if k not in skip}, "", flat)
    flat["phone_numbers"] = frozenset(n["phone_number"] for n in order.get("phone_numbers", []))
    return flat


def changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """What the customer changed between two snapshots of an order: dotted
    paths, with every parent of a changed path, and ``documents.TYPE`` per
    document uploaded since."""
    old, new = _order_paths(before), _order_paths(after)
    changed: set[str] = set()
    for path in set(old) | set(new):
        if old.get(path) != new.get(path):
            parts = path.split(".")
            changed.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    known = {d["id"] for d in before.get("documents", [])}
    changed.update(f"documents.{d['document_type']}" for d in after.get("documents", [])
                   if d["id"] not in known)
    return changed


def _touched(path: str, changed: set[str]) -> bool:
    # A field asked for is fixed by a change of it or of anything inside it.
    return path in changed or any(c.startswith(f"{path}.") for c in changed)


def unfixed_exceptions(codes: Iterable[str], changed: set[str]) -> list[tuple[str, str]]:
    """(field, message) for each exception code whose fields were all left as
    they were when the desk raised it (the field: the first it names). Empty:
    the order may be resubmitted."""
    unfixed: list[tuple[str, str]] = []
    for code in codes:
        paths = EXCEPTION_FIELDS.get(code, ())
        if paths and not any(_touched(p, changed) for p in paths):
            unfixed.append((paths[0], f"{code} asks you to change {' or '.join(paths)}; "
                                  "it is unchanged since the exception"))
    return unfixed
