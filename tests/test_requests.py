"""Splitting a message into its requests: only where it clearly holds more than one."""

from __future__ import annotations

import pytest

from engine.requests import split_requests


@pytest.mark.parametrize(
    ("text", "requests"),
    [
        ("where is HP-105442 and can I pay with klarna?",
         ["where is HP-105442", "can I pay with klarna?"]),
        ("thanks! one more: can I pay with Klarna?", ["can I pay with Klarna?"]),
        ("where is my order? paypal ok?", ["where is my order?", "paypal ok?"]),
        ("can I pay with paypal and also do you ship to Belgium",
         ["can I pay with paypal", "do you ship to Belgium"]),
        ("where is my order HP-105442, also how long do returns take",
         ["where is my order HP-105442", "how long do returns take"]),
        ("is the Mooring 35 black and is it waterproof?",  # "it" is read with what it is
         ["is the Mooring 35 black", "is the Mooring 35 black is it waterproof?"]),
        ("can I get stuff sent to toronto and how much does that cost",
         ["can I get stuff sent to toronto",
          "can I get stuff sent to toronto how much does that cost"]),
        ("where is HP-105442? and btw is the kettle ok on induction",
         ["where is HP-105442?", "is the kettle ok on induction"]),
        ("ok great, thanks! and what about klarna?", ["what about klarna?"]),
    ],
)  # fmt: skip
def test_a_message_with_several_requests_is_split_into_them(text: str, requests: list[str]) -> None:
    assert split_requests(text) == requests


@pytest.mark.parametrize(
    "text",
    [
        "I want to return it and get a refund",  # one request with two verbs
        "I bought a kettle. Does it work on induction?",  # the first sentence is its context
        "I need one more tent",
        "can I also pay with klarna",
        "the box arrived and is damaged",
        "I ordered a tent and have not received it",
        "where is my order? HP-105442",  # the number belongs to the question
        "hey, where's my parcel? order HP-105442",
        "where is my order? my email is ann@example.com",
        "where is my order?? pls",
        "can u send to oslo and whats the fee",  # the fee is the shipping's
        "hi! where is my order",
        "btw do you sell tents",
        "is btw already in the price shown",  # Dutch for VAT
        "ordering for my business, how do i get the btw number on the bill",
        "thanks!",
        "thank you so much",
        "",
    ],
)
def test_a_message_with_one_request_stays_exactly_as_it_came(text: str) -> None:
    assert split_requests(text) == [text]
