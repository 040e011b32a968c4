"""The records API through HTTP: validation, tenancy, references, secrets, OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from porthook.records.registry import SCHEMAS
from tests.conftest import AccountFactory
from tests.records_samples import sample_record

Headers = dict[str, str]


async def _create(client: httpx.AsyncClient, headers: Headers, schema: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/v1/records/{schema}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _sample(client: httpx.AsyncClient, headers: Headers, schema: str) -> dict[str, Any]:
    async def create(name: str, body: dict[str, Any]) -> int:
        return int((await _create(client, headers, name, body))["id"])

    return await sample_record(schema, create)


@pytest.mark.parametrize(("schema", "field", "bad", "expected"), [
    ("dids", "number", "555-0100", "10-digit NANP"),  # a 7-digit number
    ("users", "phone_number", "+1 555 555 5555", "E.164"),  # invalid area code
    ("users", "email", "ops@", "email"),  # no domain
    ("users", "support_link", "javascript:alert(1)", "https://"),  # not an HTTP URL
    ("ip_addresses", "ip_address", "300.1.2.3", "IPv4"),  # octet out of range
    ("sub_users", "state", "XX", "two-letter US state"),  # no such state
    ("e911_records", "zip", "1234", "US ZIP"),  # four digits
    ("e911_records", "did_number", "+442071838750", "10-digit North American"),  # UK
    ("faxes", "direction", "sideways", "'inbound' or 'outbound'"),  # not in the enumeration
    ("users", "user_type", "admin", "'reseller' or 'customer'"),  # not in the enumeration
    ("voicemail_inboxes", "inbox_pin", "12", "4 to 10 digits"),  # PIN too short
    ("channel_groups", "channels", -1, "greater than or equal to 0"),  # negative count
    ("sip_accounts", "domain", "not a host", "domain name"),  # not a hostname
    ("subscriptions", "bill_day_of_month", 32, "less than or equal to 31"),  # no 32nd
    # Past its INTEGER column (32 bits on PostgreSQL): was a 500 there.
    ("subscriptions", "product_id", 2**31, "less than or equal to 2147483647"),
])
async def test_invalid_field_is_422_naming_it(
    client: httpx.AsyncClient, make_account: AccountFactory,
    schema: str, field: str, bad: Any, expected: str,
) -> None:
    _, headers = await make_account()
    body = await _sample(client, headers, schema) | {field: bad}
    response = await client.post(f"/v1/records/{schema}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [f"body.{field}"]
    assert expected in errors[0]["message"]


async def test_unknown_and_read_only_fields_are_refused(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    body = await _sample(client, headers, "dids") | {"sms_enabled": True, "colour": "red"}
    response = await client.post("/v1/records/dids", json=body, headers=headers)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.sms_enabled", "body.colour"}


async def test_zip_of_another_country_than_the_state_is_422(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    body = await _sample(client, headers, "users") | {"state": "ON", "zip": "60601"}
    response = await client.post("/v1/records/users", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.zip"


async def test_e911_number_must_be_its_dids_number(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    body = await _sample(client, headers, "e911_records")
    record = await _create(client, headers, "e911_records", body)
    response = await client.patch(f"/v1/records/e911_records/{record['id']}",
                                  json={"did_number": "4165550143"}, headers=headers)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "body.did_number"
    assert body["did_number"] in error["message"]


async def test_required_field_cannot_be_nulled(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    did = await _create(client, headers, "dids", await _sample(client, headers, "dids"))
    response = await client.patch(f"/v1/records/dids/{did['id']}", json={"number": None},
                                  headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.number"


async def test_another_accounts_record_is_404_everywhere(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, owner = await make_account("Owner")
    _, other = await make_account("Other")
    did = await _create(client, owner, "dids", await _sample(client, owner, "dids"))
    url = f"/v1/records/dids/{did['id']}"
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.patch(url, json={"ratecenter": "X"}, headers=other)).status_code == 404
    assert (await client.delete(url, headers=other)).status_code == 404
    assert (await client.post(f"{url}/actions/enable-sms", headers=other)).status_code == 404
    assert (await client.get("/v1/records/dids", headers=other)).json()["data"] == []
    assert (await client.get(url, headers=owner)).status_code == 200


async def test_reference_to_another_accounts_record_is_404(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, owner = await make_account("Owner")
    _, other = await make_account("Other")
    did = await _create(client, owner, "dids", await _sample(client, owner, "dids"))
    response = await client.post("/v1/records/did_notes",
                                 json={"did_id": did["id"], "note": "mine now"}, headers=other)
    assert response.status_code == 404
    assert "did_id" in response.json()["detail"]


async def test_deleting_a_referenced_record_is_409_naming_the_referrers(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    note = await _create(client, headers, "did_notes", await _sample(client, headers, "did_notes"))
    response = await client.delete(f"/v1/records/dids/{note['did_id']}", headers=headers)
    assert response.status_code == 409
    assert response.json()["referenced_by"] == {"did_notes": [note["id"]]}
    assert f"did_notes {note['id']}" in response.json()["detail"]
    assert (await client.delete(f"/v1/records/did_notes/{note['id']}",
                                headers=headers)).status_code == 204
    assert (await client.delete(f"/v1/records/dids/{note['did_id']}",
                                headers=headers)).status_code == 204


async def test_duplicate_did_number_is_409(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    did = await _create(client, headers, "dids", await _sample(client, headers, "dids"))
    response = await client.post("/v1/records/dids", json={
        "number": "+1" + did["number"], "number_type": "local"}, headers=headers)
    assert response.status_code == 409
    assert did["number"] in response.json()["detail"]


async def test_secret_is_written_never_returned(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    body = await _sample(client, headers, "voicemail_inboxes") | {"inbox_pin": "908172"}
    inbox = await _create(client, headers, "voicemail_inboxes", body)
    assert "inbox_pin" not in inbox
    listed = await client.get("/v1/records/voicemail_inboxes", headers=headers)
    events = await client.get("/v1/events", headers=headers)
    assert "908172" not in listed.text + events.text
    assert "inbox_pin" not in listed.text + events.text


async def test_list_filters_on_normalised_values(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    _, headers = await make_account()
    await _create(client, headers, "dids", {"number": "3125550100", "number_type": "local"})
    await _create(client, headers, "dids", {"number": "+442071838750",
                                            "number_type": "international"})
    found = await client.get("/v1/records/dids", params={"number": "+1 (312) 555-0100"},
                             headers=headers)
    assert [d["number"] for d in found.json()["data"]] == ["3125550100"]
    typed = await client.get("/v1/records/dids", params={"number_type": "international"},
                             headers=headers)
    assert [d["number"] for d in typed.json()["data"]] == ["+442071838750"]
    bad = await client.get("/v1/records/dids", params={"colour": "red"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.colour"


async def test_openapi_has_typed_models_for_every_schema(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    components = document["components"]["schemas"]
    assert len(SCHEMAS) == 19
    for spec in SCHEMAS.values():
        for suffix in ("Create", "Update", "Public"):
            assert f"{spec.title}{suffix}" in components
        assert f"/v1/records/{spec.name}" in document["paths"]
        assert f"/v1/records/{spec.name}/{{record_id}}" in document["paths"]
    assert "inbox_pin" not in components["VoicemailInboxPublic"]["properties"]
    assert "inbox_pin" in components["VoicemailInboxCreate"]["properties"]
    assert components["DidCreate"]["additionalProperties"] is False
