"""Who is online, and who has been gone long enough to lose their conversations (the desk's
Roster: plain state, so these need no app)."""

from __future__ import annotations

from handoff.presence import Roster

AWAY_AFTER = 120.0


def test_an_agent_present_elsewhere_is_online_until_that_place_says_otherwise() -> None:
    roster = Roster()
    assert roster.present("slack", {7: "Anna"}, now=0.0)
    assert roster.online() == {7: "Anna"}
    assert not roster.present("slack", {7: "Anna"}, now=1.0)  # nothing changed
    assert roster.present("slack", {}, now=2.0)
    assert roster.online() == {}
    assert roster.away(now=2.0 + AWAY_AFTER, after=AWAY_AFTER) == [7]


def test_agents_gone_since_a_restart_are_due_after_the_grace_time() -> None:
    roster = Roster()
    roster.gone({1, 2}, now=0.0)
    assert roster.away(now=AWAY_AFTER - 1, after=AWAY_AFTER) == []
    assert sorted(roster.away(now=AWAY_AFTER, after=AWAY_AFTER)) == [1, 2]


def test_an_agent_back_while_others_are_requeued_keeps_their_conversations() -> None:
    roster = Roster()
    roster.gone({1, 2}, now=0.0)
    due = roster.away(now=200.0, after=AWAY_AFTER)
    roster.present("slack", {2: "Bo"}, now=150.0)  # back while agent 1's are being requeued
    taken = [agent for agent in due if roster.take_away(agent, now=200.0, after=AWAY_AFTER)]
    assert taken == [1]
    assert roster.away(now=400.0, after=AWAY_AFTER) == []  # requeued once, not every tick
