"""The portal's order form takes its numbers from a CSV file too, through
HTTP on both backends: the file's numbers join the pasted ones, and a file
that is not a number list is refused naming the field, with nothing created."""

from __future__ import annotations

import httpx

from porthook.db import Database
from tests.conftest import AccountFactory
from tests.functional.test_ui_signin import rows, sign_in
from tests.porting_helpers import NY, PDF, order_body

CSV = b"\xef\xbb\xbfphone_number,site\r\n(312) 555-0102,Chicago\r\n+1 416 555 0103,Toronto\r\n"


def _fields(csrf: str, numbers: str) -> dict[str, str]:
    body = order_body(NY)
    return {"csrf_token": csrf, "phone_numbers": numbers, "customer_reference": "csv-1",
            "desired_port_date": body["desired_port_date"],
            "end_user.business_name": "Acme Inc", "end_user.location_type": "business",
            "end_user.authorized_person": "Ann Smith", "address.line1": "1 Main St",
            "address.city": "New York", "address.state": "NY", "address.zip": "10001",
            "port_out.losing_carrier": "OldTel", "port_out.account_number": "A-1",
            "port_out.btn": NY}


async def test_a_csv_files_numbers_join_the_pasted_ones(
    client: httpx.AsyncClient, make_account: AccountFactory,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, headers["Authorization"].removeprefix("Bearer "))
    created = await client.post("/ui/portal/orders", data=_fields(csrf, NY), files={
        "numbers_csv": ("numbers.csv", CSV, "text/csv"),
        "loa": ("loa.pdf", PDF, "application/pdf")})
    assert created.status_code == 303, created.text
    listed = (await client.get("/v1/porting-orders", headers=headers)).json()["data"]
    assert [n["phone_number"] for n in listed[0]["phone_numbers"]] == [
        NY, "+13125550102", "+14165550103"]


async def test_a_file_that_is_no_number_list_is_refused_and_the_numbers_are_kept(
    client: httpx.AsyncClient, make_account: AccountFactory, database: Database,
) -> None:
    _, headers = await make_account()
    _, csrf = await sign_in(client, headers["Authorization"].removeprefix("Bearer "))
    for content, reason in [(b"name,city\r\nAcme,Denver\r\n", "no phone numbers found"),
                            (b"\xff\xfe\x00bad", "expected a CSV text file"),
                            (b"3125550102\n" * 30_000, "over 256 kB")]:
        refused = await client.post("/ui/portal/orders", data=_fields(csrf, NY),
                                    files={"numbers_csv": ("numbers.csv", content, "text/csv")})
        assert refused.status_code == 422, refused.text
        assert "numbers_csv" in refused.text and reason in refused.text
    # Another problem after the file was read: the form comes back with the
    # file's numbers in the list, so the file need not be chosen again.
    bad_date = {**_fields(csrf, NY), "desired_port_date": "soon"}
    again = await client.post("/ui/portal/orders", data=bad_date,
                              files={"numbers_csv": ("numbers.csv", CSV, "text/csv")})
    assert again.status_code == 422
    assert f"{NY}\n+13125550102\n+14165550103</textarea>" in again.text
    assert await rows(database, "porting_orders") == 0
