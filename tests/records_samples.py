"""Valid sample records for every schema of the records registry (test helper).

Generated from ``porthook.records.registry`` like the code under test, so a
schema added to the registry is covered by the generated tests at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from porthook.records.registry import OWN_SCHEMAS, FieldSpec, Kind, SchemaSpec

_numbers = itertools.count(100)

_SAMPLES: dict[Kind, Any] = {
    Kind.LONG_TEXT: "a longer note about this record",
    Kind.BOOL: True,
    Kind.MONEY: "12.5",
    Kind.DATETIME: "2026-03-01T12:00:00Z",
    Kind.DATE: "2026-03-01",
    Kind.PHONE: "+13125550142",
    Kind.NANP10: "3125550142",
    Kind.EMAIL: "ops@example.com",
    Kind.IP: "192.0.2.10",
    Kind.STATE: "IL",
    Kind.ZIP: "60601",
    Kind.URL: "https://example.com/hook",
    Kind.HOSTNAME: "sip.example.com",
    Kind.JSON: {"steps": [{"action": "ring", "seconds": 20}]},
}


def sample_value(spec: FieldSpec) -> Any:
    """A valid value of the field, as a client would send it (JSON-ready)."""
    if spec.kind is Kind.TEXT:
        return f"{spec.name} 1"[: spec.max_value or 255]
    if spec.kind is Kind.INT:
        return max(spec.min_value or 0, 1)
    if spec.kind is Kind.ENUM:
        return spec.choices[0]
    if spec.kind is Kind.DIGITS:
        # A secret gets digits found nowhere else, so a leak of it is visible.
        digits = "9081726354" if spec.secret else "1234567890"
        return digits[: max(spec.min_value or 1, 4)]
    if spec.kind is Kind.DID_NUMBER:
        # Distinct per call: dids.number is unique within an account.
        return f"31255{next(_numbers) % 100000:05d}"
    return _SAMPLES[spec.kind]


def changed_value(spec: FieldSpec) -> Any:
    """Another valid value of the field, for a patch."""
    if spec.kind is Kind.TEXT:
        return f"{spec.name} 2"[: spec.max_value or 255]
    if spec.kind is Kind.INT:
        return max(spec.min_value or 0, 1) + 1
    if spec.kind is Kind.ENUM:
        return spec.choices[-1]
    if spec.kind is Kind.BOOL:
        return False
    return _CHANGED.get(spec.kind, sample_value(spec))


_CHANGED: dict[Kind, Any] = {
    Kind.LONG_TEXT: "the note, corrected",
    Kind.EMAIL: "noc@example.com",
    Kind.PHONE: "+14165550143",
    Kind.NANP10: "4165550143",
}


def first_patchable(spec: SchemaSpec) -> FieldSpec:
    """The field a generated test patches: the first plain writable one."""
    tied = {name for name, _, _ in spec.same_as}
    tied |= {name for ref in spec.typed_refs for name in ref[:2]}
    return next(f for f in spec.fields if f.kind is not Kind.REF and not f.read_only
                and not f.secret and f.name not in tied and changed_value(f) != sample_value(f))


Creator = Callable[[str, dict[str, Any]], Awaitable[int]]


async def sample_record(schema: str, create: Creator) -> dict[str, Any]:
    """A full valid body for ``schema``: every writable field set, references created
    through ``create(schema, body) -> id`` (self-references left empty)."""
    spec = OWN_SCHEMAS[schema]
    body: dict[str, Any] = {}
    referenced: dict[str, dict[str, Any]] = {}
    for f in spec.fields:
        if f.read_only:
            continue
        if f.kind is Kind.REF:
            if f.ref and f.ref != schema:
                referenced[f.name] = await sample_record(f.ref, create)
                body[f.name] = await create(f.ref, referenced[f.name])
            continue
        body[f.name] = sample_value(f)
    for name, via, target_field in spec.same_as:
        body[name] = referenced[via][target_field]
    for name, type_field, schemas in spec.typed_refs:
        target = schemas[body[type_field]]
        body[name] = await create(target, await sample_record(target, create))
    return body

