"""The web front end in headless Chromium: sign-up, log-in, account, log-out, on desktop and phone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from tests.conftest import new_database
from tests.e2e.conftest import screenshot
from tests.support import LiveApp, test_env

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "correct horse battery staple"


async def signup_via_api(base_url: str, me: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        r = await client.post("/api/v1/auth/signup", json=me)
    assert r.status_code == 202, r.text


def identity() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"b{tag}@example.com", "handle": f"b{tag}", "password": PASSWORD}


async def refresh_cookie(page: Page) -> str:
    return next((c["value"] for c in await page.context.cookies() if c["name"] == "echoel_refresh"), "")


async def no_horizontal_overflow(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def test_signup_account_edit_reload_logout(live_app: LiveApp, page: Page) -> None:
    me = identity()
    await page.goto(f"{live_app.url}/signup.html")
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Handle").fill(me["handle"])
    await page.get_by_label("Display name").fill("Bea Synth")
    await page.get_by_label("Password", exact=True).fill(me["password"])
    await page.get_by_role("button", name="Show password").click()
    await expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    await page.get_by_role("button", name="Create account").click()

    # Signed up, logged in with the same details, and on the account page.
    await expect(page).to_have_url(re.compile(r"/account\.html$"))
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    header = page.locator("header.site-header")
    await expect(header.get_by_text(f"@{me['handle']}")).to_be_visible()
    await expect(header.get_by_role("button", name="Log out")).to_be_visible()
    assert await refresh_cookie(page), "log-in did not set the refresh cookie"

    bio = f"Modular patches and field recordings {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Bio").fill(bio)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.locator("#profile-form .form-status")).to_have_text("Saved.")

    # The access token lives in memory only: after a reload the page is signed in again only
    # because the refresh cookie was traded for a new token.
    cookie_before = await refresh_cookie(page)
    await page.reload()
    await expect(page.get_by_label("Bio")).to_have_value(bio)
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    assert await refresh_cookie(page) not in ("", cookie_before), "the refresh token did not rotate"

    await page.get_by_role("button", name="Become a creator").click()
    await expect(page.locator("#account-role")).to_have_text("Creator")
    await screenshot(page, "account-desktop")

    await page.locator("#logout").click()
    await expect(page).to_have_url(f"{live_app.url}/")
    await expect(header.get_by_role("link", name="Log in")).to_be_visible()
    assert await refresh_cookie(page) == ""

    # Signed out, the account page sends the visitor to log in.
    await page.goto(f"{live_app.url}/account.html")
    await expect(page).to_have_url(re.compile(r"/login\.html\?next=%2Faccount\.html$"))
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # Logging in again returns to the account page, bio still saved.
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Password", exact=True).fill(me["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/account\.html$"))
    await expect(page.get_by_label("Bio")).to_have_value(bio)


async def test_errors_are_shown_inline(live_app: LiveApp, page: Page) -> None:
    taken = identity()
    await signup_via_api(live_app.url, taken)

    await page.goto(f"{live_app.url}/signup.html")
    form = page.locator("#signup-form")
    # The browser's own checks run first, and say what to fix next to the field.
    await page.get_by_label("Email").fill("not-an-email")
    await page.get_by_label("Handle").fill("ok_handle")
    await page.get_by_label("Password", exact=True).fill("short")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#password-hint")).to_have_text("Use at least 8 characters.")
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    # A taken handle comes back from the server as 409 and lands on the handle field.
    other = identity()
    await page.get_by_label("Email").fill(other["email"])
    await page.get_by_label("Handle").fill(taken["handle"])
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#handle-hint")).to_have_text("That handle is taken; choose another.")
    await expect(form.locator(".form-error")).to_have_text("Fix the highlighted field, then try again.")
    await expect(page.get_by_role("button", name="Create account")).to_be_enabled()
    await expect(page).to_have_url(re.compile(r"/signup\.html$"))

    await page.goto(f"{live_app.url}/login.html")
    await page.get_by_label("Email").fill(taken["email"])
    await page.get_by_label("Password", exact=True).fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-form .form-error")).to_have_text("The email or password is wrong.")


async def test_phone_width_menu_and_layout(live_app: LiveApp, phone_page: Page) -> None:
    page = phone_page
    me = identity()
    await signup_via_api(live_app.url, me)

    await page.goto(f"{live_app.url}/")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert await no_horizontal_overflow(page)
    toggle = page.get_by_role("button", name="Menu")
    login_link = page.locator("header").get_by_role("link", name="Log in")
    await expect(toggle).to_be_visible()
    await expect(login_link).to_be_hidden()
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(page.locator("header").get_by_role("link", name="Home")).to_be_visible()
    assert await no_horizontal_overflow(page)
    await login_link.click()

    await expect(page).to_have_url(re.compile(r"/login\.html$"))
    assert await no_horizontal_overflow(page)
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Password", exact=True).fill(me["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/account\.html$"))
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    assert await no_horizontal_overflow(page)
    await screenshot(page, "account-phone")

    await page.get_by_role("button", name="Menu").click()
    header = page.locator("header")
    await expect(header.get_by_role("link", name="Account")).to_be_visible()
    await expect(header.get_by_role("button", name="Log out")).to_be_visible()
    assert await no_horizontal_overflow(page)
    await screenshot(page, "menu-phone")
    await header.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{live_app.url}/")


async def log_in(page: Page, base_url: str, me: dict[str, str]) -> None:
    await page.goto(f"{base_url}/login.html")
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Password", exact=True).fill(me["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")


async def test_tabs_loading_at_once_keep_the_session(live_app: LiveApp, page: Page) -> None:
    """Several tabs refreshing together must not replay one refresh token (that revokes the session)."""
    me = identity()
    await signup_via_api(live_app.url, me)
    await log_in(page, live_app.url, me)
    tabs = [page, *[await page.context.new_page() for _ in range(3)]]
    for _round in range(2):
        for tab in tabs:
            await tab.goto(f"{live_app.url}/account.html", wait_until="commit")
        for tab in tabs:
            await expect(tab.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    # Still signed in afterwards: the family was never revoked.
    await page.reload()
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")


async def test_log_out_everywhere_ends_other_devices(live_app: LiveApp, page: Page, phone_page: Page) -> None:
    me = identity()
    await signup_via_api(live_app.url, me)
    await log_in(page, live_app.url, me)
    await log_in(phone_page, live_app.url, me)

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Log out everywhere").click()
    await expect(page).to_have_url(f"{live_app.url}/")

    # The other device's access token died with it: its next call gets 401, the page's refresh
    # is refused too, and the page says to log in again instead of pretending to save.
    await phone_page.get_by_label("Bio").fill("never saved")
    await phone_page.get_by_role("button", name="Save profile").click()
    await expect(phone_page.locator("#profile-form .form-error")).to_contain_text("Sign in again")
    await phone_page.get_by_role("button", name="Menu").click()
    await expect(phone_page.locator("header").get_by_role("link", name="Log in")).to_be_visible()

    # Its refresh cookie was revoked: reloading the account page asks to log in.
    await phone_page.reload()
    await expect(phone_page).to_have_url(re.compile(r"/login\.html\?next="))


async def test_change_password_keeps_this_device_signed_in(live_app: LiveApp, page: Page) -> None:
    me = identity()
    await signup_via_api(live_app.url, me)
    await log_in(page, live_app.url, me)
    form = page.locator("#password-form")

    await form.get_by_label("Current password").fill("not my password")
    await form.get_by_label("New password").fill("a brand new passphrase")
    await form.get_by_role("button", name="Change password").click()
    await expect(page.locator("#current_password-hint")).to_have_text("The current password is wrong.")

    await form.get_by_label("Current password").fill(me["password"])
    await form.get_by_role("button", name="Change password").click()
    await expect(form.locator(".form-status")).to_contain_text("Password changed")
    # The answer carried a new refresh cookie for this device: a reload stays signed in.
    await page.reload()
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")

    await page.locator("#logout").click()
    await expect(page).to_have_url(f"{live_app.url}/")
    await log_in(page, live_app.url, {**me, "password": "a brand new passphrase"})


async def test_too_many_attempts_says_to_wait(tmp_path: Path, page: Page) -> None:
    """A 429 from the log-in throttle tells the user how long to wait (SQLite only: a throttle test)."""
    url = new_database("sqlite", None, tmp_path)
    with LiveApp(test_env(url, tmp_path / "var", ECHOEL_AUTH_MAX_FAILURES="2")) as app:
        await page.goto(f"{app.url}/login.html")
        await page.get_by_label("Email").fill("nobody@example.com")
        await page.get_by_label("Password", exact=True).fill("wrong password")
        button = page.get_by_role("button", name="Log in")
        for _attempt in range(2):
            await button.click()
            await expect(page.locator("#login-form .form-error")).to_have_text("The email or password is wrong.")
        await button.click()
        await expect(page.locator("#login-form .form-error")).to_have_text(
            re.compile(r"^Too many attempts\. Wait \d+ (seconds|minutes), then retry\.$")
        )
        await expect(button).to_be_enabled()


async def test_busy_refresh_keeps_the_page_and_says_why(live_app: LiveApp, page: Page) -> None:
    """A 429 on the page-load refresh is not a log-out: the account page stays and says to wait.

    Neither the app nor our nginx limits refreshes, but a proxy in front (a CDN rule, say) may;
    the browser answers that 429 here exactly as such a proxy would, in problem+json.
    """
    me = identity()
    await signup_via_api(live_app.url, me)
    await log_in(page, live_app.url, me)
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")

    async def busy(route: Route) -> None:
        body = '{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Too many requests."}'
        await route.fulfill(
            status=429, headers={"Retry-After": "30"}, content_type="application/problem+json", body=body
        )

    await page.route("**/api/v1/auth/refresh", busy)
    await page.reload()
    await expect(page.locator(".flash")).to_have_text(
        re.compile(r"^Could not restore your session: Too many attempts\. Wait \d+ seconds?, then retry\.$")
    )
    await expect(page).to_have_url(re.compile(r"/account\.html$"))


async def test_stale_csrf_cookie_is_replaced(live_app: LiveApp, page: Page) -> None:
    """A CSRF cookie the server no longer accepts (e.g. after a key change) costs one retry, not the session."""
    me = identity()
    await signup_via_api(live_app.url, me)
    await log_in(page, live_app.url, me)
    await page.context.add_cookies(
        [{"name": "echoel_csrf", "value": "stale", "url": f"{live_app.url}/", "secure": True, "sameSite": "Strict"}]
    )
    await page.reload()
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}")
    csrf = next(c["value"] for c in await page.context.cookies() if c["name"] == "echoel_csrf")
    assert csrf != "stale"
