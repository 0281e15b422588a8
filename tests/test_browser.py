"""End to end in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import Session, select

from engine.models import Conversation
from engine.outcomes import Episode
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import PASSWORD, add_agent, fresh_settings
from tests.support.live_server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(built_settings: Settings, models: Models) -> Iterator[str]:
    with run_server(create_app(built_settings, models=models)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def _sign_in(agent: Page, username: str, name: str) -> None:
    """On the console's login page: sign in, and wait for the console to greet the agent."""
    agent.get_by_test_id("login-username").fill(username)
    agent.get_by_test_id("login-password").fill(PASSWORD)
    agent.get_by_test_id("login-submit").click()
    expect(agent.get_by_test_id("agent-name")).to_have_text(name, timeout=20_000)


def _open_chat(browser: Browser, url: str) -> Page:
    """A customer on the store's page, with the chat open."""
    customer = browser.new_page()
    customer.goto(url + "/")
    customer.get_by_test_id("sc-launcher").click()
    return customer


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


def test_a_customer_and_an_agent_talk_through_a_handoff(
    browser: Browser, built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    settings = fresh_settings(built_settings, tmp_path)
    anna = add_agent(settings, "Anna")
    with run_server(create_app(settings, models=models)) as url:
        agent = browser.new_page()
        agent.goto(url + "/agent")
        expect(agent).to_have_url(url + "/agent/login")
        _sign_in(agent, anna, "Anna")
        customer = _open_chat(browser, url)
        _ask(customer, "I want to talk to a person")
        banner = customer.get_by_test_id("sc-handoff-banner")
        expect(banner).to_have_attribute("data-state", "queued", timeout=20_000)
        expect(banner).to_contain_text("number 1 in the queue")

        queued = agent.get_by_test_id("queue-list").get_by_test_id("queue-item")
        expect(queued).to_have_count(1, timeout=20_000)
        queued.click()
        agent.get_by_test_id("claim").click()
        expect(agent.get_by_test_id("conv-owner")).to_have_text("You", timeout=20_000)
        expect(banner).to_have_attribute("data-state", "agent", timeout=20_000)
        expect(customer.locator('[data-role="system"]').last).to_contain_text("Anna joined")

        _ask(customer, "where is my order HP-105442?")
        said = agent.locator('[data-testid="conv-msg"][data-role="customer"]')
        expect(said.last).to_contain_text("HP-105442", timeout=20_000)
        expect(agent.get_by_test_id("understanding")).to_contain_text("HP-105442")
        expect(agent.get_by_test_id("draft-text")).not_to_be_empty()
        _ask(customer, "it's guess@example.com")  # not the order's email: a failed proof
        attempts = agent.get_by_test_id("security-events")
        expect(attempts).to_contain_text("Failed proof · HP-105442 · guess@example.com",
                                         timeout=20_000)  # fmt: skip
        expect(agent.get_by_test_id("understanding")).to_contain_text("Typed, not proved")

        agent.get_by_test_id("reply-input").fill("Hi! I'm looking at your order now.")
        expect(customer.get_by_test_id("sc-typing")).to_be_visible(timeout=20_000)
        agent.get_by_test_id("reply-send").click()
        from_agent = customer.locator('[data-testid="sc-msg"][data-role="agent"]')
        expect(from_agent.last).to_have_text("Hi! I'm looking at your order now.", timeout=20_000)

        agent.get_by_test_id("handback").click()
        expect(agent.get_by_test_id("conv-owner")).to_have_text("Bot", timeout=20_000)
        expect(banner).to_be_hidden(timeout=20_000)
        _ask(customer, "which payment methods do you accept?")
        bot = customer.locator('[data-testid="sc-msg"][data-role="bot"]')
        expect(bot.last).to_contain_text("Klarna", timeout=20_000)


def test_the_agent_sees_what_the_bot_understood_over_the_conversation(
    browser: Browser, built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    settings = fresh_settings(built_settings, tmp_path)
    anna = add_agent(settings, "Anna")
    with run_server(create_app(settings, models=models)) as url:
        agent = browser.new_page()
        agent.goto(url + "/agent/login")
        _sign_in(agent, anna, "Anna")
        customer = _open_chat(browser, url)
        bot = customer.locator('[data-testid="sc-msg"][data-role="bot"]')
        for text, answer in [("where is my order HP-105442?", "email"),
                             ("it's harryhughes@example.org", "1ZH7P4A26606237378"),
                             ("how much is the Mooring 35 backpack", "EUR 149.95")]:  # fmt: skip
            _ask(customer, text)
            expect(bot.last).to_contain_text(answer, timeout=20_000)
        _ask(customer, "I'd like to talk to a person")

        queued = agent.get_by_test_id("queue-list").get_by_test_id("queue-item")
        expect(queued).to_have_count(1, timeout=20_000)
        queued.click()
        over = agent.get_by_test_id("understood-conversation")
        expect(over).to_contain_text("harryhughes@example.org", timeout=20_000)
        expect(over).to_contain_text("HP-105442")  # proved two messages before the handoff
        expect(over).to_contain_text("proved by the customer")
        expect(over).to_contain_text("Mooring 35 Travel Backpack (BAG-1080)")
        expect(agent.get_by_test_id("understanding")).not_to_contain_text("No order looked up")
        expect(agent.get_by_test_id("draft-text")).to_contain_text("Mooring 35")


def test_the_customer_ends_the_chat_and_rates_it(
    browser: Browser, built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    settings = fresh_settings(built_settings, tmp_path)
    with run_server(create_app(settings, models=models)) as url:
        page = browser.new_page()
        page.goto(url + "/")
        page.get_by_test_id("sc-launcher").click()
        end_chat = page.get_by_test_id("sc-end-chat")
        expect(end_chat).to_be_hidden()
        _ask(page, "which payment methods do you accept?")
        bot = page.locator('[data-testid="sc-msg"][data-role="bot"]')
        expect(bot.last).to_contain_text("Klarna", timeout=20_000)

        end_chat.click()
        expect(page.get_by_test_id("sc-end-confirm")).to_contain_text("End this chat?")
        page.get_by_test_id("sc-end-chat-yes").click()
        survey = page.get_by_test_id("sc-survey")
        expect(survey).to_contain_text("How did we do?", timeout=20_000)
        expect(survey.get_by_test_id("sc-survey-score")).to_have_count(5)
        expect(page.get_by_test_id("sc-end-chat")).to_be_hidden()  # until the customer writes again
        survey.get_by_role("radio", name="Rate 4 out of 5").click()
        thanks = page.get_by_test_id("sc-survey-thanks")
        expect(thanks).to_have_text("Thank you for your rating (4/5).", timeout=20_000)
        expect(bot).to_have_count(1)  # the conversation stays on screen
        key = page.evaluate("window.ShopclerkWidget._state().session")

    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        episodes = session.exec(
            select(Episode)
            .join(Conversation)
            .where(Conversation.channel == "web", Conversation.key == key)
        ).all()
    db.dispose()
    assert [(e.ended_by, e.satisfaction) for e in episodes] == [("customer", 4)]


def test_an_agent_edits_and_accepts_a_suggested_faq_entry(
    browser: Browser, built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    from kb.models import FaqEntry
    from kb.suggestion_models import FaqSuggestion

    # A data directory of its own: accepting rebuilds the search index, which others share.
    data_dir = tmp_path / "data"
    shutil.copytree(built_settings.index_dir, data_dir / "index")
    (data_dir / "models").symlink_to(built_settings.models_dir, target_is_directory=True)
    settings = fresh_settings(built_settings, tmp_path, data_dir=data_dir)
    anna = add_agent(settings, "Anna")
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        session.add(FaqSuggestion(question="Can I collect my order at your warehouse?",
                                  alternates=["pick up at the warehouse"], cluster_size=3,
                                  answer="Yes, you can pick it up."))  # fmt: skip
        session.commit()
    answer = "Yes: collect it at our Utrecht warehouse, Monday to Friday from 9:00 to 17:00."

    with run_server(create_app(settings, models=models)) as url:
        page = browser.new_page()
        page.goto(url + "/agent")
        page.get_by_test_id("login-username").fill(anna)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        tab = page.get_by_test_id("ac-suggestions-tab")
        expect(tab.get_by_test_id("ac-suggestions-count")).to_have_text("1", timeout=20_000)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        card = page.get_by_test_id("ac-suggestion")
        expect(card).to_have_count(1, timeout=20_000)
        expect(card).to_contain_text("3 customers asked this")
        expect(card.get_by_test_id("ac-suggestion-question")).to_have_value(
            "Can I collect my order at your warehouse?"
        )
        expect(card.get_by_test_id("ac-suggestion-alternates")).to_have_value(
            "pick up at the warehouse"
        )
        card.get_by_test_id("ac-suggestion-answer").fill(answer)
        card.get_by_test_id("ac-suggestion-accept").click()
        notice = page.get_by_test_id("ac-suggestions-notice")
        expect(notice).to_contain_text("Added to the FAQ", timeout=60_000)
        expect(card).to_have_count(0, timeout=20_000)
        expect(tab.get_by_test_id("ac-suggestions-count")).to_be_hidden()
        expect(page.get_by_test_id("ac-suggestion-error")).to_have_count(0)

    with Session(db) as session:
        entries = session.exec(select(FaqEntry).where(FaqEntry.answer == answer)).all()
        suggestion = session.exec(select(FaqSuggestion)).one()
    db.dispose()
    assert [(e.question, e.alternates) for e in entries] == [
        ("Can I collect my order at your warehouse?", ["pick up at the warehouse"])
    ]
    assert (suggestion.status, suggestion.faq_key) == ("accepted", entries[0].key)
