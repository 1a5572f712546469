"""The web front end in headless Chromium: sign-up, log-in, account, log-out, on desktop and phone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import new_database
from tests.e2e.conftest import screenshot
from tests.support import LiveApp, test_env

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


def identity() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"b{tag}@example.com", "handle": f"b{tag}", "password": PASSWORD}


def refresh_cookie(page: Page) -> str:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "echoel_refresh"), "")


def no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_signup_account_edit_reload_logout(live_app: LiveApp, page: Page) -> None:
    me = identity()
    page.goto(f"{live_app.url}/signup.html")
    page.get_by_label("Email").fill(me["email"])
    page.get_by_label("Handle").fill(me["handle"])
    page.get_by_label("Display name").fill("Bea Synth")
    page.get_by_label("Password", exact=True).fill(me["password"])
    page.get_by_role("button", name="Show password").click()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    page.get_by_role("button", name="Create account").click()

    # Signed up, logged in with the same details, and on the account page.
    expect(page).to_have_url(re.compile(r"/account\.html$"))
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    header = page.locator("header.site-header")
    expect(header.get_by_text(f"@{me['handle']}")).to_be_visible()
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    assert refresh_cookie(page), "log-in did not set the refresh cookie"

    bio = f"Modular patches and field recordings {uuid.uuid4().hex[:6]}"
    page.get_by_label("Bio").fill(bio)
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("#profile-form .form-status")).to_have_text("Saved.")

    # The access token lives in memory only: after a reload the page is signed in again only
    # because the refresh cookie was traded for a new token.
    cookie_before = refresh_cookie(page)
    page.reload()
    expect(page.get_by_label("Bio")).to_have_value(bio)
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    assert refresh_cookie(page) not in ("", cookie_before), "the refresh token did not rotate"

    page.get_by_role("button", name="Become a creator").click()
    expect(page.locator("#account-role")).to_have_text("Creator")
    screenshot(page, "account-desktop")

    page.locator("#logout").click()
    expect(page).to_have_url(f"{live_app.url}/")
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    assert refresh_cookie(page) == ""

    # Signed out, the account page sends the visitor to log in.
    page.goto(f"{live_app.url}/account.html")
    expect(page).to_have_url(re.compile(r"/login\.html\?next=%2Faccount\.html$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # Logging in again returns to the account page, bio still saved.
    page.get_by_label("Email").fill(me["email"])
    page.get_by_label("Password", exact=True).fill(me["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account\.html$"))
    expect(page.get_by_label("Bio")).to_have_value(bio)


def test_errors_are_shown_inline(live_app: LiveApp, page: Page) -> None:
    taken = identity()
    assert httpx.post(f"{live_app.url}/api/v1/auth/signup", json=taken).status_code == 202

    page.goto(f"{live_app.url}/signup.html")
    form = page.locator("#signup-form")
    # The browser's own checks run first, and say what to fix next to the field.
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Handle").fill("ok_handle")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-hint")).to_have_text("Use at least 8 characters.")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    # A taken handle comes back from the server as 409 and lands on the handle field.
    other = identity()
    page.get_by_label("Email").fill(other["email"])
    page.get_by_label("Handle").fill(taken["handle"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#handle-hint")).to_have_text("That handle is taken; choose another.")
    expect(form.locator(".form-error")).to_have_text("Fix the highlighted field, then try again.")
    expect(page.get_by_role("button", name="Create account")).to_be_enabled()
    expect(page).to_have_url(re.compile(r"/signup\.html$"))

    page.goto(f"{live_app.url}/login.html")
    page.get_by_label("Email").fill(taken["email"])
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-form .form-error")).to_have_text("The email or password is wrong.")


def test_phone_width_menu_and_layout(live_app: LiveApp, phone_page: Page) -> None:
    page = phone_page
    me = identity()
    assert httpx.post(f"{live_app.url}/api/v1/auth/signup", json=me).status_code == 202

    page.goto(f"{live_app.url}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert no_horizontal_overflow(page)
    toggle = page.get_by_role("button", name="Menu")
    login_link = page.locator("header").get_by_role("link", name="Log in")
    expect(toggle).to_be_visible()
    expect(login_link).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("header").get_by_role("link", name="Home")).to_be_visible()
    assert no_horizontal_overflow(page)
    login_link.click()

    expect(page).to_have_url(re.compile(r"/login\.html$"))
    assert no_horizontal_overflow(page)
    page.get_by_label("Email").fill(me["email"])
    page.get_by_label("Password", exact=True).fill(me["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account\.html$"))
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    assert no_horizontal_overflow(page)
    screenshot(page, "account-phone")

    page.get_by_role("button", name="Menu").click()
    header = page.locator("header")
    expect(header.get_by_role("link", name="Account")).to_be_visible()
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "menu-phone")
    header.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_app.url}/")


def log_in(page: Page, base_url: str, me: dict[str, str]) -> None:
    page.goto(f"{base_url}/login.html")
    page.get_by_label("Email").fill(me["email"])
    page.get_by_label("Password", exact=True).fill(me["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")


def test_tabs_loading_at_once_keep_the_session(live_app: LiveApp, page: Page) -> None:
    """Several tabs refreshing together must not replay one refresh token (that revokes the session)."""
    me = identity()
    assert httpx.post(f"{live_app.url}/api/v1/auth/signup", json=me).status_code == 202
    log_in(page, live_app.url, me)
    tabs = [page, *(page.context.new_page() for _ in range(3))]
    for _round in range(2):
        for tab in tabs:
            tab.goto(f"{live_app.url}/account.html", wait_until="commit")
        for tab in tabs:
            expect(tab.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    # Still signed in afterwards: the family was never revoked.
    page.reload()
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")


def test_log_out_everywhere_ends_other_devices(live_app: LiveApp, page: Page, phone_page: Page) -> None:
    me = identity()
    assert httpx.post(f"{live_app.url}/api/v1/auth/signup", json=me).status_code == 202
    log_in(page, live_app.url, me)
    log_in(phone_page, live_app.url, me)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Log out everywhere").click()
    expect(page).to_have_url(f"{live_app.url}/")

    # The other device's access token died with it: its next call gets 401, the page's refresh
    # is refused too, and the page says to log in again instead of pretending to save.
    phone_page.get_by_label("Bio").fill("never saved")
    phone_page.get_by_role("button", name="Save profile").click()
    expect(phone_page.locator("#profile-form .form-error")).to_contain_text("Sign in again")
    phone_page.get_by_role("button", name="Menu").click()
    expect(phone_page.locator("header").get_by_role("link", name="Log in")).to_be_visible()

    # Its refresh cookie was revoked: reloading the account page asks to log in.
    phone_page.reload()
    expect(phone_page).to_have_url(re.compile(r"/login\.html\?next="))


def test_change_password_keeps_this_device_signed_in(live_app: LiveApp, page: Page) -> None:
    me = identity()
    assert httpx.post(f"{live_app.url}/api/v1/auth/signup", json=me).status_code == 202
    log_in(page, live_app.url, me)
    form = page.locator("#password-form")

    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password").fill("a brand new passphrase")
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#current_password-hint")).to_have_text("The current password is wrong.")

    form.get_by_label("Current password").fill(me["password"])
    form.get_by_role("button", name="Change password").click()
    expect(form.locator(".form-status")).to_contain_text("Password changed")
    # The answer carried a new refresh cookie for this device: a reload stays signed in.
    page.reload()
    expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")

    page.locator("#logout").click()
    expect(page).to_have_url(f"{live_app.url}/")
    log_in(page, live_app.url, {**me, "password": "a brand new passphrase"})


def test_too_many_attempts_says_to_wait(tmp_path: Path, page: Page) -> None:
    """A 429 from the log-in throttle tells the user how long to wait (SQLite only: a throttle test)."""
    url = new_database("sqlite", None, tmp_path)
    with LiveApp(test_env(url, tmp_path / "var", ECHOEL_AUTH_MAX_FAILURES="2")) as app:
        page.goto(f"{app.url}/login.html")
        page.get_by_label("Email").fill("nobody@example.com")
        page.get_by_label("Password", exact=True).fill("wrong password")
        button = page.get_by_role("button", name="Log in")
        for _attempt in range(2):
            button.click()
            expect(page.locator("#login-form .form-error")).to_have_text("The email or password is wrong.")
        button.click()
        expect(page.locator("#login-form .form-error")).to_have_text(
            re.compile(r"^Too many attempts\. Wait \d+ (seconds|minutes), then retry\.$")
        )
        expect(button).to_be_enabled()
