"""End to end in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shopclerk.app import create_app
from shopclerk.settings import Settings
from tests.live_server import run_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(built_settings: Settings) -> Iterator[str]:
    with run_server(create_app(built_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def _ask(page: Page, text: str) -> None:
    page.get_by_test_id("sc-input").fill(text)
    page.get_by_test_id("sc-input").press("Enter")


def test_ask_see_the_answer_reload_see_the_history(browser: Browser, base_url: str) -> None:
    page = browser.new_page()
    page.goto(base_url + "/")
    page.get_by_test_id("sc-launcher").click()
    _ask(page, "which payment methods do you accept?")
    bot = page.locator('[data-testid="sc-msg"][data-role="bot"]')
    expect(bot.last).to_contain_text("Klarna", timeout=20_000)

    page.reload()
    page.get_by_test_id("sc-launcher").click()
    messages = page.locator('[data-testid="sc-msg"][data-seq]')
    expect(messages).to_have_count(2, timeout=20_000)
    expect(messages.first).to_contain_text("which payment methods do you accept?")
    expect(messages.last).to_contain_text("Klarna")


def test_markup_from_the_customer_is_shown_as_text(browser: Browser, base_url: str) -> None:
    page = browser.new_page()
    page.goto(base_url + "/")
    page.get_by_test_id("sc-launcher").click()
    _ask(page, "<img src=x onerror=\"document.title='pwned'\"> hello")
    customer = page.locator('[data-testid="sc-msg"][data-role="customer"]')
    expect(customer.last).to_contain_text("<img src=x", timeout=20_000)
    expect(page.locator('[data-testid="sc-msg"][data-role="bot"]').last).to_be_visible()
    assert page.title() != "pwned"
    assert page.locator(".sc-panel img").count() == 0
