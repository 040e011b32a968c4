"""forms.csv_numbers: which cells of an uploaded CSV are phone numbers."""

from __future__ import annotations

import pytest

from porthook.problems import Unprocessable
from porthook.ui import forms


@pytest.mark.parametrize(("content", "numbers"), [
    # One E.164 number per row, as typed.
    (b"+13035550143\n+13035550144\n", ["+13035550143", "+13035550144"]),
    # A spreadsheet's export: a BOM, a header, CRLF, other columns skipped.
    (b"\xef\xbb\xbfnumber,site\r\n(303) 555-0143,HQ\r\n", ["+13035550143"]),
    # The + dropped: 10 digits, or 11 with the leading 1, are North American.
    (b"3035550143;x\n1-303-555-0144\n", ["+13035550143", "+13035550144"]),
    # Several numbers on one row, in any column; quoted cells.
    (b'"+1 303 555 0143","303.555.0144"\n', ["+13035550143", "+13035550144"]),
    # Dates, times, account numbers and short codes are not numbers.
    (b"2030-01-15,10:00,123456,55512,+1303555014399999\n+13035550143\n", ["+13035550143"]),
    # A number given twice stays twice: the API names the repeat.
    (b"+13035550143\n+13035550143\n", ["+13035550143", "+13035550143"]),
])
def test_the_numbers_of_a_csv(content: bytes, numbers: list[str]) -> None:
    assert forms.csv_numbers(content) == numbers


@pytest.mark.parametrize(("content", "reason"), [
    # Nothing that reads as a number.
    (b"name,city\nAcme,Denver\n", "no phone numbers found"),
    (b"", "no phone numbers found"),
    # Not UTF-8 text (a spreadsheet's binary file chosen by mistake).
    (b"PK\x03\x04\xff\xfe", "expected a CSV text file"),
    # A NUL byte inside the only number: no longer a number.
    (b"+13035550143\x00\n", "no phone numbers found"),
    # Far more than 1,000 numbers' worth of text.
    (b"3035550143\n" * 30_000, "over 256 kB"),
])
def test_a_file_that_is_no_number_list_names_the_field(content: bytes, reason: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        forms.csv_numbers(content)
    [error] = refused.value.errors
    assert error.field == "numbers_csv" and reason in error.message
