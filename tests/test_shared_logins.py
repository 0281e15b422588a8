"""Console login budgets that hold across web processes (issue 14): an attacker who spreads
password guesses over every web process gets the guesses one process grants, no more. Against
the machine's Redis (127.0.0.1:6379), each test with a key prefix of its own."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from handoff.logins import WINDOW, Attempt, LoginGate, ThrottledError
from handoff.rates import Rates
from shopclerk.live import limits_redis
from shopclerk.settings import Settings
from tests.support.cluster import REDIS_URL, shared_store, web_subprocess
from tests.support.desk import PASSWORD, add_agent, guess_on
from tests.support.live_server import free_port

WAIT = 30.0  # seconds: generous; a stalled server never answers, a working one at once


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    # The client the app's limits use (its pool makes a burst wait for a connection).
    client, prefix = limits_redis(REDIS_URL), f"test-logins-{uuid.uuid4().hex}:"
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_two_processes_grant_one_budget_even_to_parallel_guesses(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    a, b = LoginGate(Rates(client, prefix)), LoginGate(Rates(client, prefix))
    guesses = [gate.reserve("anna", "10.0.0.1") for gate in (a, b) * 100]
    answers = await asyncio.gather(*guesses, return_exceptions=True)
    allowed = [answer for answer in answers if isinstance(answer, Attempt)]
    refused = [answer for answer in answers if isinstance(answer, ThrottledError)]
    assert (len(allowed), len(refused)) == (5, 195)
    assert all(0 < error.retry_after <= WINDOW for error in refused)

    await allowed[0].succeeded()  # the right password: given back, for every process
    await b.reserve("anna", "10.0.0.1")
    with pytest.raises(ThrottledError):
        await a.reserve("anna", "10.0.0.1")
    # Anna's own browser has a budget of its own: the guesses do not lock her out.
    await (await a.reserve("anna", "10.0.0.1", device="annas-laptop")).succeeded()
    ttl = await client.pttl(f"{prefix}rate:login-pair:anna|10.0.0.1")
    assert 0 < ttl <= WINDOW * 1000  # gone on its own a window after the last guess


async def test_the_name_budget_holds_across_processes_and_addresses(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    a, b = LoginGate(Rates(client, prefix)), LoginGate(Rates(client, prefix))
    for n in range(10):  # the name's budget (10), from ten addresses, over both processes
        await (a, b)[n % 2].reserve("anna", f"10.0.1.{n}")
    for gate in (a, b):
        with pytest.raises(ThrottledError):
            await gate.reserve("anna", "10.0.2.1")
    await a.reserve("ben", "10.0.2.1")  # another name is not held back


async def test_without_redis_each_process_counts_its_own_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # nothing listens there
    gate = LoginGate(Rates(nowhere, "test-logins-nowhere:"))
    with caplog.at_level(logging.WARNING, logger="handoff.rates"):
        answers: list[Any] = await asyncio.gather(
            *(gate.reserve("anna", "10.0.0.1") for _ in range(20)), return_exceptions=True
        )
    assert len([a for a in answers if isinstance(a, Attempt)]) == 5
    assert len([a for a in answers if isinstance(a, ThrottledError)]) == 15
    assert len([r for r in caplog.records if "out of reach" in r.message]) == 1
    gate.close()
    await nowhere.aclose()


# -- the attack, on two real web processes ----------------------------------------------------


@pytest.fixture
def shared(built_settings: Settings) -> Iterator[Settings]:
    with shared_store(built_settings) as settings:
        yield settings


async def login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    csrf = (await http.get("/agent/api/session")).json()["csrf"]
    body = {"username": username, "password": password}
    return await http.post("/agent/api/login", json=body, headers={"x-csrf-token": csrf})


@pytest.mark.postgres
@pytest.mark.slow  # two real web processes: about 15 s
def test_guesses_spread_over_two_web_processes_stop_at_one_processes_budget(
    shared: Settings,
) -> None:
    anna = add_agent(shared, "Anna")
    with web_subprocess(shared) as (a, _), web_subprocess(shared) as (b, _):

        async def attack() -> tuple[list[httpx.Response], httpx.Response]:
            async with httpx.AsyncClient(base_url=a, timeout=WAIT) as annas_browser:
                assert (await login(annas_browser, anna, PASSWORD)).status_code == 200
                on_a, on_b = await asyncio.gather(guess_on(a, anna, 100), guess_on(b, anna, 100))
                annas_browser.base_url = httpx.URL(b)  # her device cookie, on the other process
                return on_a + on_b, await login(annas_browser, anna, PASSWORD)

        answers, hers = asyncio.run(attack())
    statuses = [answer.status_code for answer in answers]
    # As on one process: 5 guesses checked (wrong password), the other 195 refused unhashed.
    assert (statuses.count(401), statuses.count(429)) == (5, 195)
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["retry-after"]) <= WINDOW
    assert hers.status_code == 200, hers.text  # and Anna still gets in
