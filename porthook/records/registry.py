"""The one description of seed 002's record schemas (``002_8c94001453ec1edb.txt``).

Everything else of this domain is generated from ``SCHEMAS``: the tables
(``models.py``), the typed Create/Update/Public/Filters models (``schemas.py``),
the routes (``routes.py``), reference and delete checks (``service.py``) and the
``record.<schema>.*`` events. A schema added here needs no other code.

Decisions, and why:

* **One real table per schema** (``records_<schema>``), not a generic JSON table:
  real columns give real filters and indexes, real foreign keys (a DID's notes
  cannot point at nothing) and a schema an operator can read in ``psql``.
* **Integer ids.** The seed's provider hands out numeric ids and its hook
  receivers store them (and ``did_id``, ``user_id``... references) as integers;
  a UUID would break the code those receivers already have. Ids are unique per
  table across accounts, so tenancy never depends on them.
* **Tenancy on ``account_id``**, a column of every table that is not a seed
  field. ``user_id``/``parent_id``/``reseller_id``/``child_id`` are the seed's own
  user hierarchy (the account's ``users`` records: resellers and their
  customers), optional on numbers and services (empty = the account itself).
  References are composite foreign keys ``(account_id, <ref>)``, so the
  database itself refuses a reference to another account's record.
* **Numbers are validated per field** with ``phonenumbers``: contact numbers
  (``phone_number``, ``support_phone``, ``contact_number``) are stored E.164;
  DIDs (``dids.number``, fax ``source_did``/``destination_did``) the way the
  seed's provider keeps them, 10 digits for North America and E.164 for a DID
  elsewhere, which is how a DID can be "not 10 digits" for seed 002's SMS
  enablement; ``e911_records.did_number`` is 10-digit NANP only.
* ``dids.number_type`` says what the number is (local, tollfree,
  international), not how it arrived: an activated port-in becomes a
  ``local`` or ``tollfree`` DID (its origin is its lnp records).
  ``dids.sms_enabled`` is read-only: only the enable-sms action sets it.
* ``lnp_requests``/``lnp_numbers`` are listed with ``backed_by="porting"``: they
  are views of porting orders (``porthook.porting``), which own their storage
  and their events; this domain only routes ``/v1/records/lnp_*`` to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"  # short free text
    LONG_TEXT = "long_text"
    INT = "int"
    BOOL = "bool"
    MONEY = "money"  # a decimal amount, sent as a string to keep its precision
    DATETIME = "datetime"
    DATE = "date"
    ENUM = "enum"
    PHONE = "phone"  # a contact number: E.164 (10-digit NANP accepted, stored E.164)
    DID_NUMBER = "did_number"  # as the provider stores DIDs: 10-digit NANP, else E.164
    NANP10 = "nanp10"  # 10-digit NANP only (E911 exists in the US and Canada only)
    EMAIL = "email"
    IP = "ip"
    STATE = "state"  # two-letter US state/territory or Canadian province/territory
    ZIP = "zip"  # US ZIP (12345, 12345-6789) or Canadian postal code (A1A 1A1)
    URL = "url"
    HOSTNAME = "hostname"
    DIGITS = "digits"  # a string of digits (PINs, extensions)
    JSON = "json"
    REF = "ref"  # the integer id of another record of the same account


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    required: bool = False
    secret: bool = False  # write-only: never returned, never in an event
    read_only: bool = False  # changed by an action, not by create/update
    ref: str | None = None  # for Kind.REF: the schema referred to
    choices: tuple[str, ...] = ()  # for Kind.ENUM
    default: Any = None
    min_value: int | None = None  # INT: bounds; TEXT/DIGITS: length
    max_value: int | None = None
    description: str = ""


@dataclass(frozen=True)
class SchemaSpec:
    name: str  # the seed's schema name, also the URL segment and event subject type
    title: str  # singular CamelCase, for the OpenAPI model names
    fields: tuple[FieldSpec, ...]  # the seed's fields after ``id``, in the seed's order
    unique: tuple[str, ...] = ()  # fields unique within one account
    # (field, reference field, field of the referenced record) that must be equal.
    same_as: tuple[tuple[str, str, str], ...] = ()
    backed_by: str | None = None  # another domain owns the storage (lnp_*)
    # (field, type field, {type value: schema}): a reference whose schema the
    # record's type field names (subscriptions.product_id by product_type).
    typed_refs: tuple[tuple[str, str, dict[str, str]], ...] = ()

    @property
    def seed_fields(self) -> tuple[str, ...]:
        return ("id", *(f.name for f in self.fields))

    @property
    def refs(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind is Kind.REF)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


# Seed 002's subscriptions.product_type values and the schemas they bill.
PRODUCT_SCHEMAS = {
    "did": "dids", "sip_account": "sip_accounts", "channel_group": "channel_groups",
    "fax": "faxes", "voicemail": "voicemail_inboxes", "e911": "e911_records",
    "directory_listing": "directory_listings",
}


def _ref(name: str, schema: str, *, required: bool = False, description: str = "") -> FieldSpec:
    return FieldSpec(name, Kind.REF, required=required, ref=schema, description=description)


def _user(name: str = "user_id") -> FieldSpec:
    return _ref(name, "users", description="The owning user (a users record); empty: the account")


def _enum(name: str, *choices: str, required: bool = True, default: Any = None) -> FieldSpec:
    return FieldSpec(name, Kind.ENUM, required=required and default is None, choices=choices,
                     default=default)


def _text(name: str, *, required: bool = False, max_length: int = 255) -> FieldSpec:
    return FieldSpec(name, Kind.TEXT, required=required, max_value=max_length)


def _address(*names: str) -> tuple[FieldSpec, ...]:
    """The seed's postal block (address, city, state, zip), optional."""
    kinds = {"state": Kind.STATE, "zip": Kind.ZIP}
    return tuple(
        FieldSpec(n, kinds[n]) if n in kinds else _text(n) for n in names
    )


NUMBER_TYPES = ("local", "tollfree", "international")
FAX_STATUSES = ("queued", "sending", "sent", "receiving", "received", "failed")
USPS_UNIT_TYPES = ("APT", "BLDG", "DEPT", "FL", "LOT", "RM", "STE", "UNIT")

_RECORD_SCHEMAS = (
    SchemaSpec("sip_accounts", "SipAccount", (
        _user(),
        _enum("account_type", "device", "trunk"),
        FieldSpec("username", Kind.TEXT, required=True, min_value=1, max_value=64),
        FieldSpec("domain", Kind.HOSTNAME, required=True),
        FieldSpec("sbc_number", Kind.INT, min_value=1, max_value=9999,
                  description="The session border controller the account registers on"),
    )),
    SchemaSpec("subscriptions", "Subscription", (
        _user(),
        _enum("product_type", "did", "sip_account", "channel_group", "fax", "voicemail",
              "e911", "directory_listing"),
        FieldSpec("product_id", Kind.INT, required=True, min_value=1,
                  description="The id of the account's record of the product_type's schema"),
        FieldSpec("bill_day_of_month", Kind.INT, required=True, min_value=1, max_value=31),
        FieldSpec("last_billed_dt", Kind.DATETIME),
    ), typed_refs=(("product_id", "product_type", PRODUCT_SCHEMAS),)),
    SchemaSpec("sub_users", "SubUser", (
        _ref("parent_id", "users", required=True, description="The users record this belongs to"),
        _text("username", required=True, max_length=64),
        FieldSpec("email", Kind.EMAIL),
        _text("first_name"), _text("last_name"),
        FieldSpec("phone_number", Kind.PHONE),
        *_address("address", "city", "state", "zip"),
    )),
    SchemaSpec("transaction_items", "TransactionItem", (
        _ref("transaction_id", "transactions", required=True),
        _text("product_description", required=True),
        FieldSpec("product_price", Kind.MONEY),
        FieldSpec("product_mrc", Kind.MONEY, description="Monthly recurring charge"),
        _text("processing_flags"),
        _text("fail_reason"),
    )),
    SchemaSpec("transactions", "Transaction", (
        _user(),
        _ref("child_id", "users", description="The customer (a users record) charged through"
                                              " a reseller"),
        _ref("referenced_transaction_id", "transactions",
             description="The transaction this one refunds or corrects"),
        FieldSpec("total", Kind.MONEY, required=True),
        FieldSpec("summary", Kind.LONG_TEXT),
        _enum("transaction_type", "charge", "payment", "credit", "refund"),
        _enum("transaction_status", "pending", "completed", "failed", "voided"),
    )),
    SchemaSpec("users", "User", (
        _ref("reseller_id", "users", description="The reseller (a users record) above this one"),
        _enum("user_type", "reseller", "customer"),
        _text("username", required=True, max_length=64),
        FieldSpec("email", Kind.EMAIL),
        _text("first_name"), _text("last_name"),
        FieldSpec("phone_number", Kind.PHONE),
        *_address("address", "city", "state", "zip"),
        _text("brand"),
        FieldSpec("domain", Kind.HOSTNAME),
        FieldSpec("using_custom_css", Kind.BOOL, default=False),
        FieldSpec("using_custom_logo", Kind.BOOL, default=False),
        FieldSpec("support_phone", Kind.PHONE),
        FieldSpec("support_email", Kind.EMAIL),
        FieldSpec("support_link", Kind.URL),
        _enum("user_status", "active", "suspended", "closed", default="active"),
        FieldSpec("credit_line", Kind.MONEY),
        FieldSpec("chanlimit_outbound", Kind.INT, min_value=0, max_value=100_000),
        FieldSpec("chanlimit_inbound", Kind.INT, min_value=0, max_value=100_000),
        FieldSpec("max_international", Kind.MONEY, description="Highest international rate"
                                                               " allowed per minute"),
        FieldSpec("sms_post_url", Kind.URL),
        FieldSpec("web_hook_url", Kind.URL),
        FieldSpec("sbc", Kind.INT, min_value=1, max_value=9999),
    )),
    SchemaSpec("call_flows", "CallFlow", (
        _user(),
        _text("flow_name", required=True),
        FieldSpec("flow_data", Kind.JSON, description="The flow's steps, as the PBX reads them"),
        _text("default_route"),
    )),
    SchemaSpec("channel_groups", "ChannelGroup", (
        _user(),
        _text("name", required=True),
        FieldSpec("channels", Kind.INT, required=True, min_value=0, max_value=100_000),
        _enum("status", "active", "inactive", default="active"),
    )),
    SchemaSpec("did_notes", "DidNote", (
        _ref("did_id", "dids", required=True),
        FieldSpec("note", Kind.LONG_TEXT, required=True),
    )),
    SchemaSpec("dids", "Did", (
        _user(),
        _ref("call_flow_id", "call_flows"),
        _ref("channel_group_id", "channel_groups"),
        _ref("voicemail_inbox_id", "voicemail_inboxes"),
        FieldSpec("number", Kind.DID_NUMBER, required=True,
                  description="10 digits for a North American number, E.164 otherwise"),
        _enum("number_type", *NUMBER_TYPES),
        FieldSpec("state", Kind.STATE),
        _text("ratecenter", max_length=64),
        FieldSpec("sms_enabled", Kind.BOOL, read_only=True, default=False,
                  description="Set by POST .../actions/enable-sms"),
        FieldSpec("xmpp_enabled", Kind.BOOL, default=False),
        FieldSpec("inbound_cnam", Kind.BOOL, default=False,
                  description="Look up the caller's name on inbound calls"),
    ), unique=("number",)),
    SchemaSpec("directory_listings", "DirectoryListing", (
        _ref("did_id", "dids", required=True),
        _enum("listing_type", "business", "residential"),
        _text("business_name"), _text("first_name"), _text("last_name"),
        *_address("address1", "address2", "city", "state", "zip"),
        FieldSpec("email", Kind.EMAIL),
        FieldSpec("contact_number", Kind.PHONE),
    )),
    SchemaSpec("e911_records", "E911Record", (
        _ref("did_id", "dids", required=True),
        FieldSpec("did_number", Kind.NANP10, required=True),
        _text("full_name", required=True),
        _text("address", required=True),
        _text("city", required=True),
        FieldSpec("state", Kind.STATE, required=True),
        FieldSpec("zip", Kind.ZIP, required=True),
        _enum("unit_type", *USPS_UNIT_TYPES, required=False),
        _text("unit_number", max_length=16),
    ), same_as=(("did_number", "did_id", "number"),)),  # 911 calls come from that DID
    SchemaSpec("fax_emails", "FaxEmail", (
        _ref("did_id", "dids", required=True),
        FieldSpec("email_address", Kind.EMAIL, required=True),
    )),
    SchemaSpec("faxes", "Fax", (
        _ref("did_id", "dids", required=True),
        _enum("fax_status", *FAX_STATUSES),
        _enum("direction", "inbound", "outbound"),
        FieldSpec("source_did", Kind.DID_NUMBER),
        FieldSpec("destination_did", Kind.DID_NUMBER),
        _text("recipient"),
        FieldSpec("pages", Kind.INT, min_value=0, max_value=10_000),
    )),
    SchemaSpec("ip_addresses", "IpAddress", (
        _user(),
        FieldSpec("ip_address", Kind.IP, required=True),
        _text("ip_name"),
        FieldSpec("sbc", Kind.INT, min_value=1, max_value=9999),
    )),
    SchemaSpec("voicemail_emails", "VoicemailEmail", (
        _ref("voicemail_inbox_id", "voicemail_inboxes", required=True),
        FieldSpec("email_address", Kind.EMAIL, required=True),
    )),
    SchemaSpec("voicemail_inboxes", "VoicemailInbox", (
        _user(),
        FieldSpec("inbox_number", Kind.DIGITS, required=True, min_value=1, max_value=10),
        _text("inbox_name"),
        FieldSpec("inbox_pin", Kind.DIGITS, secret=True, min_value=4, max_value=10),
        FieldSpec("transcribe", Kind.BOOL, default=False),
    )),
)

# Views of porting orders: the porting domain stores them and records their events.
_PORTING_SCHEMAS = (
    SchemaSpec("lnp_numbers", "LnpNumber", (
        FieldSpec("lnp_request_id", Kind.TEXT), FieldSpec("number", Kind.PHONE),
        FieldSpec("state", Kind.STATE), FieldSpec("ratecenter", Kind.TEXT),
    ), backed_by="porting"),
    SchemaSpec("lnp_requests", "LnpRequest", (
        FieldSpec("user_id", Kind.TEXT), FieldSpec("btn", Kind.PHONE),
        _enum("location_type", "business", "residential"),
        *(FieldSpec(n, Kind.TEXT) for n in (
            "business_contact", "business_name", "first_name", "last_name", "account_number",
            "service_address")),
        FieldSpec("service_state", Kind.STATE), FieldSpec("service_zip", Kind.ZIP),
        FieldSpec("partial_port", Kind.BOOL), FieldSpec("partial_port_details", Kind.TEXT),
        FieldSpec("wireless_number", Kind.PHONE),
        FieldSpec("wireless_pin", Kind.DIGITS, secret=True),
        FieldSpec("caller_id", Kind.TEXT), FieldSpec("request_status", Kind.TEXT),
        FieldSpec("foc_date", Kind.DATE),
    ), backed_by="porting"),
)

# Every schema of seed 002, in the seed's order of appearance.
_SEED_ORDER = (
    "lnp_numbers", "lnp_requests", "sip_accounts", "subscriptions", "sub_users",
    "transaction_items", "transactions", "users", "call_flows", "channel_groups", "did_notes",
    "dids", "directory_listings", "e911_records", "fax_emails", "faxes", "ip_addresses",
    "voicemail_emails", "voicemail_inboxes",
)
_BY_NAME = {s.name: s for s in (*_RECORD_SCHEMAS, *_PORTING_SCHEMAS)}
SCHEMAS: dict[str, SchemaSpec] = {name: _BY_NAME[name] for name in _SEED_ORDER}
# The schemas whose storage is this domain's own tables.
OWN_SCHEMAS: dict[str, SchemaSpec] = {n: s for n, s in SCHEMAS.items() if s.backed_by is None}


def referrers(schema: str) -> list[tuple[SchemaSpec, FieldSpec]]:
    """Every (schema, field) that refers to ``schema``: what blocks its deletion."""
    return [
        (spec, f) for spec in OWN_SCHEMAS.values() for f in spec.refs if f.ref == schema
    ]


def in_seed_order(schema: str, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its keys in the seed's order (unknown keys last, as they came).

    PostgreSQL's JSONB does not keep the key order of a stored event's data, so
    whatever renders a record for a receiver (seed 002's ``data`` string) puts
    the order back with this.
    """
    spec = SCHEMAS.get(schema)
    order = spec.seed_fields if spec else ()
    known = {name: record[name] for name in order if name in record}
    return known | {k: v for k, v in record.items() if k not in known}
