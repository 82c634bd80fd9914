"""Steps the browser tests share: signing up, logging in, finding an organization."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from playwright.sync_api import Page, expect
from sqlalchemy import select

from chom.extensions import db
from chom.models import Organization
from chom.models.scoping import unscoped
from tests.conftest import PASSWORD


def sign_up(page: Page, console: str, organization: str, name: str = "Bea") -> str:
    """Sign up through the form; returns the new owner's email."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@browser.test"
    page.goto(f"{console}/signup")
    page.get_by_label("Organization").fill(organization)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password (10 characters or more)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("alert")).to_contain_text(f"Welcome to CHOM, {name}.")
    return email


def log_in(page: Page, console: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{console}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def organization_of(app, name: str) -> SimpleNamespace:
    """What `tests.members.add_member` needs of an organization made in the browser."""
    with app.app_context(), unscoped():
        org = db.session.scalar(select(Organization).where(Organization.name == name))
        return SimpleNamespace(organization_id=str(org.id))


def csrf_token(page: Page) -> str:
    """The session's CSRF token, from the log-out form every console page carries."""
    return page.locator("form.logout input[name=csrf_token]").get_attribute("value")


WIDER_THAN_VIEWPORT = """async () => {
  await document.fonts.ready;  // measured once the text has its final width
  const width = document.documentElement.scrollWidth;
  if (width <= window.innerWidth) return [];
  // Boxes sticking out, and boxes whose own content (a long word) overflows them.
  const culprits = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                 || e.scrollWidth > e.clientWidth + 1)
    .map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className);
  return [`page ${width}px wide in a ${window.innerWidth}px viewport`, ...culprits];
}"""


def wider_than_viewport(page: Page) -> list[str]:
    """The elements that make the page scroll sideways (none on a responsive page)."""
    return page.evaluate(WIDER_THAN_VIEWPORT)
