"""The dashboard in a real browser (Debian's chromium, Playwright) against a
real ``porthook serve`` on loopback, on SQLite and PostgreSQL; axe-core on
every page visited.

Set ``PORTHOOK_UI_SCREENSHOTS=docs/screenshots`` to save the README's
screenshots while the SQLite run goes through the main pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.functional.browser import (
    PDF,
    Served,
    browser,
    check_accessibility,
    context,
    served,
    sign_in,
)
from tests.functional.sinks import Sink
from tests.porting_helpers import order_body

__all__ = ["browser", "context", "served"]  # fixtures of the harness

# One xdist worker runs them all (``make test`` distributes by group): one
# server per backend and one browser in all, not one per worker.
pytestmark = pytest.mark.xdist_group("browser")

INTERNAL_NOTE = "CSR pulled: the OSP shows account 654321 (desk only)"
SHOTS = os.environ.get("PORTHOOK_UI_SCREENSHOTS")


def shot(page: Any, served: Served, name: str) -> None:
    if SHOTS and "sqlite" in served.database_url:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def visit(page: Any, url: str) -> Any:
    response = page.goto(url)
    check_accessibility(page)
    return response


def fill_order(page: Any, numbers: str) -> None:
    page.get_by_label("Phone numbers").fill(numbers)
    page.get_by_label("Customer reference").fill("acme-42")
    page.get_by_label("Business name").fill("Acme Corp")
    page.get_by_label("Authorized person").fill("Jane Doe")
    page.get_by_label("Location type").select_option("business")
    page.get_by_label("Service address").fill("1 Main St")
    page.get_by_label("City").fill("New York")
    page.get_by_label("State or province").fill("NY")
    page.get_by_label("ZIP or postal code").fill("10001")
    page.get_by_label("Country (2 letters)").fill("US")
    page.get_by_label("Losing carrier").fill("OldTel")
    page.get_by_label("Account number").fill("123456")
    page.get_by_label("Billing telephone number (BTN)").fill(numbers.split(maxsplit=1)[0])
    page.get_by_label("Port-out PIN").fill("9999")
    in_five_days = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    page.get_by_label("Desired port date").fill(in_five_days)
    page.get_by_label("Desired port time").fill("10:00")
    page.get_by_label("Time zone").select_option("US/Eastern")


def move_status(page: Any, status: str, **extra: str) -> None:
    page.get_by_label("New status").select_option(status)
    for code in extra.get("codes", "").split():
        page.get_by_label(code).check()
    if "foc_date" in extra:
        page.get_by_label("FOC date", exact=True).fill(extra["foc_date"])
        page.get_by_label("FOC time", exact=True).fill("09:00")
        page.get_by_label("Time zone", exact=True).select_option("US/Eastern")
    page.get_by_role("button", name="Move status").click()
    page.wait_for_load_state()


def customer_creates_and_submits(customer: Any, served: Served, key: str) -> tuple[str, str]:
    """Returns the order page's URL and the order's support key."""
    sign_in(customer, served, key)
    assert customer.url.endswith("/ui/portal")
    check_accessibility(customer)
    shot(customer, served, "portal-orders")
    visit(customer, f"{served.base}/ui/portal/orders/new")
    fill_order(customer, "+12125550111")
    customer.get_by_text("+12125550111: portable").wait_for()  # checked as typed
    # The second number from a CSV file, as a spreadsheet exports it.
    customer.get_by_label("Or a CSV file of numbers").set_input_files(files=[{
        "name": "numbers.csv", "mimeType": "text/csv",
        "buffer": b"phone_number,site\r\n(212) 555-0112,Head office\r\n"}])
    customer.get_by_label("LOA (PDF, PNG or JPEG)").set_input_files(
        files=[{"name": "loa.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    shot(customer, served, "portal-order-form")
    customer.get_by_role("button", name="Create order").click()
    customer.wait_for_load_state()
    assert "Order saved as a draft" in customer.content()
    assert "+12125550112" in customer.content()  # the CSV's number is on the order
    check_accessibility(customer)
    support_key = re.search(r"sr_[0-9a-f]{6}", customer.locator("h1").inner_text())
    assert support_key is not None
    customer.get_by_role("button", name="Submit the order").click()
    customer.wait_for_load_state()
    assert "in-process" in customer.locator("h1").inner_text()
    return customer.url.split("?")[0], support_key.group(0)


def desk_raises_an_exception(desk: Any, served: Served, support_key: str) -> None:
    """Finds the order in the queue, raises an exception with a code, writes
    an internal note."""
    sign_in(desk, served, served.operator_key)
    assert desk.url.endswith("/ui/desk")
    check_accessibility(desk)
    visit(desk, f"{served.base}/ui/desk?view=needs-action")
    shot(desk, served, "desk-queue")
    desk.get_by_role("link", name=support_key).click()
    desk.wait_for_load_state()
    check_accessibility(desk)
    move_status(desk, "submitted")
    move_status(desk, "exception", codes="ACCOUNT_NUMBER_MISMATCH")
    assert "exception" in desk.locator("h1").inner_text()
    desk.get_by_label("Comment").fill(INTERNAL_NOTE)
    desk.get_by_label("Internal note").check()
    desk.get_by_role("button", name="Add comment").click()
    desk.wait_for_load_state()
    assert INTERNAL_NOTE in desk.content()
    shot(desk, served, "desk-order")
    check_accessibility(desk)


CUSTOMER_NOTE = "Account number corrected from the latest bill"


def customer_fixes_and_resubmits(customer: Any, served: Served, order_url: str) -> None:
    """Sees the exception, its reason and the field it names, never the note;
    a resubmit without the fix is refused (nothing kept), then the fixed
    order goes back to the desk as submitted."""
    visit(customer, order_url)
    content = customer.content()
    assert "ACCOUNT_NUMBER_MISMATCH" in content and INTERNAL_NOTE not in content
    assert "Action required: fix the order and resubmit it" in content
    customer.get_by_role("link", name="Fix and resubmit this order").click()
    customer.wait_for_load_state()
    check_accessibility(customer)
    assert "change: Account number" in customer.content()
    customer.get_by_text("+12125550112: portable").wait_for()  # its own hold does not count
    customer.get_by_label("Customer reference").fill("acme-43")
    customer.get_by_role("button", name="Save and resubmit").click()
    customer.wait_for_load_state()
    assert "ACCOUNT_NUMBER_MISMATCH asks you to change port_out.account_number" in (
        customer.content())
    check_accessibility(customer)
    customer.get_by_label("Account number").fill("654321")
    customer.get_by_label("Message to the porting desk (optional)").fill(CUSTOMER_NOTE)
    shot(customer, served, "portal-fix-form")
    customer.get_by_role("button", name="Save and resubmit").click()
    customer.wait_for_load_state()
    assert "Order resubmitted to the porting desk" in customer.content()
    assert "submitted" in customer.locator("h1").inner_text()
    assert INTERNAL_NOTE not in customer.content()


def desk_confirms_and_activates(desk: Any) -> None:
    desk.reload()
    assert CUSTOMER_NOTE in desk.content()
    assert "Status: exception → submitted" in desk.content()
    assert "submitted" in desk.locator("h1").inner_text()
    move_status(desk, "foc-date-confirmed",
                foc_date=(datetime.now(UTC) + timedelta(days=5)).date().isoformat())
    assert "foc-date-confirmed" in desk.locator("h1").inner_text()
    desk.get_by_label("Select all numbers").check()
    desk.get_by_label("With the selected numbers").select_option("activate")
    desk.get_by_role("button", name="Apply to selected numbers").click()
    desk.wait_for_load_state()
    assert "ported" in desk.locator("h1").inner_text()
    check_accessibility(desk)


def test_an_order_from_creation_to_activation(served: Served, context: Any) -> None:
    _, customer_key = served.account("Acme Telecom")
    customer = context.new_page()
    desk_context = context.browser.new_context()
    desk = desk_context.new_page()
    order_url, support_key = customer_creates_and_submits(customer, served, customer_key)
    desk_raises_an_exception(desk, served, support_key)
    customer_fixes_and_resubmits(customer, served, order_url)
    desk_confirms_and_activates(desk)
    desk_context.close()
    visit(customer, order_url)
    assert "ported" in customer.locator("h1").inner_text()

    # Nothing of the note left through the customer's API or its events.
    order_id = order_url.rsplit("/", 1)[1]
    order = served.api("GET", f"/v1/porting-orders/{order_id}", customer_key).text
    events = served.api("GET", "/v1/events", customer_key).text
    assert INTERNAL_NOTE not in order and INTERNAL_NOTE not in events


def test_every_portal_page_is_accessible(served: Served, context: Any) -> None:
    _, key = served.account("Pages Inc")
    profile = served.api("POST", "/v1/notification-profiles", key, json={"name": "Team"}).json()
    page = context.new_page()
    sign_in(page, served, key)
    for path in ("/ui/portal", "/ui/portal/orders/new", "/ui/portal/defaults",
                 "/ui/portal/endpoints", "/ui/portal/profiles",
                 f"/ui/portal/profiles/{profile['id']}",
                 "/ui/portal/records", "/ui/portal/records/users", "/ui/login"):
        response = visit(page, f"{served.base}{path}")
        assert response.status == 200, path
    page.goto(f"{served.base}/ui/portal/defaults")
    page.get_by_label("Default time zone").select_option("US/Central")
    page.get_by_role("button", name="Save defaults").click()
    page.wait_for_load_state()
    assert "Porting defaults saved" in page.content()


def test_a_wrong_key_is_refused(served: Served, context: Any) -> None:
    page = context.new_page()
    sign_in(page, served, "ph_live_not-a-key")
    assert page.url.endswith("/ui/login")
    assert "unknown or revoked" in page.content()
    check_accessibility(page)
    shot(page, served, "login")


def test_a_form_without_its_csrf_token_is_refused(served: Served, context: Any) -> None:
    _, key = served.account("Csrf Co")
    created = served.api("POST", "/v1/porting-orders", key,
                         json={"phone_numbers": ["+12125550121"]})
    order_id = created.json()["id"]
    page = context.new_page()
    sign_in(page, served, key)
    # The browser's own session cookie goes with it; the token does not.
    url = f"{served.base}/ui/portal/orders/{order_id}/comments"
    refused = page.request.post(url, form={"body": "forged"})
    assert refused.status == 403
    forged = page.request.post(url, form={"body": "forged", "csrf_token": "x" * 43})
    assert forged.status == 403
    comments = served.api("GET", f"/v1/porting-orders/{order_id}/comments", key).json()
    assert comments["data"] == []


def test_expired_and_revoked_sessions_send_to_sign_in(served: Served, context: Any) -> None:
    account_id, _ = served.account("Expiry Ltd")
    made = served.api("POST", f"/v1/accounts/{account_id}/api-keys", served.operator_key)
    key_id, key = made.json()["id"], made.json()["api_key"]
    page = context.new_page()
    sign_in(page, served, key)
    assert page.url.endswith("/ui/portal")
    # Idle for a day: the server's idle timeout (30 min) is long past.
    served.sql("UPDATE ui_sessions SET last_seen_at = last_seen_at - INTERVAL '1 day' "
               if "postgresql" in served.database_url else
               "UPDATE ui_sessions SET last_seen_at = datetime(last_seen_at, '-1 day') ")
    page.goto(f"{served.base}/ui/portal")
    assert page.url.endswith("/ui/login")

    sign_in(page, served, key)
    assert page.url.endswith("/ui/portal")
    revoked = served.api("DELETE", f"/v1/api-keys/{key_id}", served.operator_key)
    assert revoked.status_code == 204
    page.goto(f"{served.base}/ui/portal")
    assert page.url.endswith("/ui/login")


def test_another_accounts_order_answers_404(served: Served, context: Any) -> None:
    _, theirs = served.account("Theirs LLC")
    _, mine = served.account("Mine LLC")
    order = served.api("POST", "/v1/porting-orders", theirs,
                       json={"phone_numbers": ["+12125550131"]}).json()
    page = context.new_page()
    sign_in(page, served, mine)
    response = visit(page, f"{served.base}/ui/portal/orders/{order['id']}")
    assert response.status == 404
    assert "+12125550131" not in page.content()


def test_a_portal_link_opens_the_portal_once(served: Served, context: Any) -> None:
    account_id, _ = served.account("Link Reseller")
    link = served.api("POST", f"/v1/accounts/{account_id}/portal-links", served.operator_key)
    url = link.json()["url"]
    page = context.new_page()
    visit(page, url)
    page.get_by_role("button", name="Open the portal").click()
    page.wait_for_load_state()
    assert page.url.endswith("/ui/portal")
    other = context.browser.new_context().new_page()
    other.goto(url)
    other.get_by_role("button", name="Open the portal").click()
    other.wait_for_load_state()
    assert "expired or was already used" in other.content()
    other.context.close()


@contextlib.contextmanager
def threaded_sink() -> Iterator[Sink]:
    """A sink on loopback with an event loop of its own (Playwright's sync API
    holds this thread's): the served worker calls it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> Sink:
        receiver = Sink()
        await receiver.start()
        return receiver

    receiver = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def wait_until(check: Callable[[], bool], within_s: float = 30.0) -> None:
    """Bounded wait for what the served worker does (never a speed assertion)."""
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def add_endpoint_from_the_form(page: Any, served: Served, url: str) -> None:
    """Creates an endpoint for porting_order.* on the page."""
    visit(page, f"{served.base}/ui/portal/endpoints")
    page.get_by_label("Webhook URL").fill(url)
    page.get_by_label("*", exact=True).uncheck()
    page.get_by_label("porting_order.*", exact=True).check()
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_load_state()
    assert "Copy its signing secret now" in page.content()
    check_accessibility(page)


def make_two_events(served: Served, key: str) -> str:
    """An order and a comment on it (porting_order.created, .new_comment); the order's id."""
    order = served.api("POST", "/v1/porting-orders", key,
                       json=order_body("+12125550141", customer_reference="hooks-1"))
    assert order.status_code == 201, order.text
    order_id: str = order.json()["id"]
    comment = served.api("POST", f"/v1/porting-orders/{order_id}/comments", key,
                         json={"body": "Please port on Friday."})
    assert comment.status_code == 201, comment.text
    return order_id


def retry_the_failed_delivery(page: Any, served: Served, sink: Sink) -> None:
    """From the log filtered to what is retrying, its page's "Retry now"; it arrives."""
    visit(page, f"{served.base}/ui/portal/deliveries")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 2  # every delivery
    assert "porting_order.created" in page.content()
    assert "porting_order.new_comment" in page.content()
    shot(page, served, "portal-delivery-log")
    page.get_by_label("State").select_option("retrying")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    check_accessibility(page)
    assert rows.count() == 1
    rows.first.get_by_role("link").click()
    page.wait_for_load_state()
    check_accessibility(page)
    assert "<td>500</td>" in page.content()
    page.get_by_role("button", name="Retry now").click()
    page.wait_for_load_state()
    assert "Requeued" in page.content() or "being sent right now" in page.content()
    wait_until(lambda: len(sink.at("/hook")) >= 3)  # it arrives
    failed, *_, again = sink.at("/hook")
    assert again.headers["webhook-id"] == failed.headers["webhook-id"]


def test_the_endpoint_shows_every_delivery_and_a_failed_one_is_retried(
    served: Served, context: Any,
) -> None:
    _, key = served.account("Hooks Inc")
    page = context.new_page()
    with threaded_sink() as sink:
        sink.script("/hook", 500, then=200)  # the first call fails
        sign_in(page, served, key)
        add_endpoint_from_the_form(page, served, sink.url("/hook"))
        order_id = make_two_events(served, key)
        wait_until(lambda: len(sink.at("/hook")) >= 2)
        retry_the_failed_delivery(page, served, sink)

        def shows_delivered() -> bool:
            page.reload()
            return "<td>200</td>" in page.content()

        wait_until(shows_delivered)
        check_accessibility(page)
        visit(page, f"{served.base}/ui/portal/endpoints")
        health = page.locator("main table tbody tr").first.inner_text()
        assert "% of" in health and "attempts" in health  # the one-liner
        page.get_by_role("link", name=sink.url("/hook")).click()
        page.wait_for_load_state()
        check_accessibility(page)
        assert "Recent deliveries" in page.content() and "Health:" in page.content()

    # The desk sees the order's deliveries and opens one.
    desk = context.browser.new_context().new_page()
    sign_in(desk, served, served.operator_key)
    visit(desk, f"{served.base}/ui/desk/orders/{order_id}")
    desk.locator("section[aria-labelledby=h-deliveries] tbody a").first.click()
    desk.wait_for_load_state()
    check_accessibility(desk)
    assert "Attempts" in desk.content()
    desk.context.close()


def test_endpoint_credentials_are_set_and_removed_on_the_edit_form(
    served: Served, context: Any,
) -> None:
    _, key = served.account("Creds Co")
    page = context.new_page()
    with threaded_sink() as sink:
        sign_in(page, served, key)
        add_endpoint_from_the_form(page, served, sink.url("/hook"))
        assert "Keep as they are (not set)" in page.content()
        page.get_by_label("Credentials", exact=True).select_option("bearer")
        page.get_by_label("Token (Bearer)").fill("browser-tok-secret")
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_load_state()
        check_accessibility(page)
        assert "Changes saved" in page.content()
        assert "bearer set" in page.content() and "browser-tok-secret" not in page.content()
        page.get_by_role("button", name="Send a test event").click()
        page.wait_for_load_state()
        wait_until(lambda: len(sink.at("/hook")) >= 1)
        assert sink.at("/hook")[-1].headers["authorization"] == "Bearer browser-tok-secret"
        page.get_by_label("Credentials", exact=True).select_option("remove")
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_load_state()
        assert "Keep as they are (not set)" in page.content()
