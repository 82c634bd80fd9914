"""The console's forms in a real browser: inline errors that keep what was typed, the type's
option fields swapped in by htmx, keyboard focus, two-factor set-up and log-in, and the
operators' fleet page adding a real VPS over SSH."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from playwright.sync_api import expect

from chom.services import fleet as fleet_service
from chom.services import operators
from tests.browser.harness import PHONE
from tests.browser.pages import log_in, sign_up, wider_than_viewport
from tests.conftest import PASSWORD


def test_validation_errors_are_inline_and_keep_what_was_typed(console, browsers, local_vps):
    page = browsers.new().new_page()
    page.goto(f"{console}/signup")
    page.get_by_label("Organization").fill("Typo Agency")
    page.get_by_label("Your name").fill("Tom")
    page.get_by_label("Email", exact=True).fill("tom@typo.test")
    page.get_by_label("Password (10 characters or more)").fill("short")
    page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password (10 characters or more)")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-errors .field-error")).to_be_visible()
    expect(page.get_by_label("Organization")).to_have_value("Typo Agency")
    expect(page.get_by_label("Email", exact=True)).to_have_value("tom@typo.test")
    expect(password).to_have_value("")  # a password is never sent back
    password.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.get_by_role("link", name="New site").click()
    page.get_by_label("Domain").fill("not a domain")
    with page.expect_response("**/sites/new/options?type=wordpress"):
        page.get_by_label("Site type").select_option("wordpress")
    # WordPress's own fields from its plugin's schema, and a PHP version choice.
    expect(page.get_by_label("PHP version")).to_have_value("8.2")
    page.get_by_label("PHP version").select_option("8.3")
    page.get_by_label("Site title").fill("My blog")
    page.get_by_label("Admin email").fill("me@blog.example.com")
    page.get_by_label("Admin password").fill("short")
    page.get_by_role("button", name="Create site").click()
    expect(page.get_by_label("Domain")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#domain-errors .field-error")).to_be_visible()
    expect(page.get_by_label("Domain")).to_have_value("not a domain")
    expect(page.get_by_label("Site type")).to_have_value("wordpress")
    expect(page.get_by_label("PHP version")).to_have_value("8.3")
    expect(page.get_by_label("Site title")).to_have_value("My blog")

    page.get_by_label("Domain").fill("blog.example.com")
    page.get_by_label("Admin password").fill("short")
    page.get_by_role("button", name="Create site").click()
    expect(page.locator("#option-admin_password-errors .field-error")).to_contain_text("short")
    expect(page.get_by_label("Admin password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Domain")).to_have_value("blog.example.com")


def test_keyboard_reaches_the_content_with_a_visible_focus(console, browsers):
    page = browsers.new().new_page()
    sign_up(page, console, "Keys Agency")
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => {
        const e = document.activeElement, style = getComputedStyle(e);
        return [e.textContent.trim(), style.outlineStyle, style.outlineWidth];
    }""")
    assert focused == ["Skip to content", "solid", "3px"]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    # Every form control on the page has a label.
    for path in ("/dashboard", "/sites", "/sites/new", "/account/tokens", "/account/two-factor",
                 "/tenants"):
        page.goto(f"{console}{path}")
        unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)""")
        assert unlabelled == [], path


def test_every_page_fits_a_phone(console, browsers):
    page = browsers.new(viewport=PHONE).new_page()
    sign_up(page, console, "A Rather Long Organization Name For A Small Screen")
    for path in ("/dashboard", "/sites", "/sites/new", "/account/tokens", "/account/two-factor",
                 "/audit", "/team", "/billing", "/notifications", "/tenants", "/platform/health"):
        page.goto(f"{console}{path}")
        assert wider_than_viewport(page) == [], path


def test_two_factor_set_up_then_log_in_with_a_code(console, browsers):
    page = browsers.new().new_page()
    email = sign_up(page, console, "Secure Agency")
    page.get_by_role("link", name="Two-factor").click()
    page.get_by_role("button", name="Set up two-factor").click()
    expect(page.locator("figure.qr svg")).to_be_visible()  # drawn server-side, no CDN
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.locator("#otp-errors .field-error")).to_be_visible()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("button", name="Log out").click()

    log_in(page, console, email)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label("Authentication code").fill("123456")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#otp-errors .field-error")).to_be_visible()
    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_operator_adds_a_vps_and_sees_capacity_and_reachability(console, browsers, fleet,
                                                                clean_app):
    first, second = fleet.hosts[:2]
    page = browsers.new().new_page()
    email = sign_up(page, console, "Platform Ops")
    with clean_app.app_context():
        operators.create_operator(email=email, name="Op", password=PASSWORD)
        capacity = fleet_service.add_vps(**first.add_vps_kwargs(
            settings={**first.profile, "ssh_key_path": first.client_key_path})).capacity
    page.reload()
    page.get_by_role("link", name="Fleet").click()
    row = page.get_by_role("row", name=re.compile(first.name))
    expect(row.locator(".badge-active", has_text="reachable")).to_be_visible()
    expect(row.locator("meter")).to_have_attribute("max", str(capacity))

    # Add the second host through the form: its key is pinned, the stack probed over SSH.
    page.get_by_label("Name", exact=True).fill("from-the-console")
    page.get_by_label("Host (IP address or name)").fill(second.address)
    page.get_by_label("SSH port").fill(str(second.ssh_port))
    page.get_by_label("SSH user").fill(second.ssh_user)
    page.get_by_label("Capacity (sites)").fill("7")
    page.get_by_label(re.compile("^Private key")).fill(Path(second.client_key_path).read_text())
    page.get_by_role("button", name="Add VPS").click()
    expect(page.get_by_role("alert")).to_contain_text("from-the-console joined the fleet.")
    added = page.get_by_role("row", name=re.compile("from-the-console"))
    expect(added.locator(".badge-active", has_text="reachable")).to_be_visible()
    expect(added.locator("meter")).to_have_attribute("max", "7")
    with clean_app.app_context():
        stored = fleet_service.find_vps("from-the-console")
        assert stored.host_key and stored.ssh_private_key_encrypted
        assert "nginx" in stored.settings["stack"]
