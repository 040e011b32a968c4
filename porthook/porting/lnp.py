"""Porting orders seen as seed 002's ``lnp_requests`` and ``lnp_numbers`` records.

Seed ``002_8c94001453ec1edb.txt`` lists the fields of each schema; these pure
functions build them, in the seed's order, from the public order snapshot.
``wireless_pin`` is in the seed's list but is a secret: it is left out (the
seed itself says to check that a field is present before using it).
"""

from __future__ import annotations

from typing import Any

from porthook.porting import numbers

LNP_REQUESTS = "lnp_requests"
LNP_NUMBERS = "lnp_numbers"


def _service_address(address: dict[str, Any]) -> str | None:
    lines = [address.get("line1"), address.get("line2")]
    joined = ", ".join(line for line in lines if line)
    return joined or None


def lnp_request_record(order_public: dict[str, Any]) -> dict[str, Any]:
    """An order as an ``lnp_requests`` record (seed 002's fields, in its order)."""
    end_user = order_public.get("end_user") or {}
    address = end_user.get("service_address") or {}
    port_out = order_public.get("port_out") or {}
    return {
        "id": str(order_public["id"]),
        "user_id": str(order_public["account_id"]),
        "btn": port_out.get("btn"),
        "location_type": end_user.get("location_type"),
        "business_contact": end_user.get("business_contact"),
        "business_name": end_user.get("business_name"),
        "first_name": end_user.get("first_name"),
        "last_name": end_user.get("last_name"),
        "account_number": port_out.get("account_number"),
        "service_address": _service_address(address),
        "service_state": address.get("state"),
        "service_zip": address.get("zip"),
        "partial_port": bool(port_out.get("partial_port")),
        "partial_port_details": port_out.get("partial_port_details"),
        "wireless_number": bool(port_out.get("wireless_number")),
        "caller_id": end_user.get("caller_id"),
        "request_status": order_public["status"],
        "foc_date": order_public.get("foc_date"),
    }


def lnp_number_record(order_id: Any, number_public: dict[str, Any]) -> dict[str, Any]:
    """A number on an order as an ``lnp_numbers`` record: 10 digits, state and
    rate centre as far as the numbering plan's geocoder knows them."""
    e164 = str(number_public["phone_number"])
    state, ratecenter = numbers.locate(e164)
    return {
        "id": str(number_public["id"]),
        "lnp_request_id": str(order_id),
        "number": e164[-10:],
        "state": state,
        "ratecenter": ratecenter,
    }
