"""Agent accounts: created from the command line, passwords hashed with Argon2id.

argon2-cffi (the reference Argon2 binding, RFC 9106 parameters by default) hashes and checks
passwords and says when a stored hash should be redone with stronger parameters.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine as Database
from sqlmodel import Session, select

from engine.clock import utcnow
from handoff.models import Agent, AgentLogin

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MIN_PASSWORD = 10


class AgentError(ValueError):
    """An agent account cannot be created or changed as asked."""


class WrongPasswordError(AgentError):
    """The current password given for a change is not the agent's."""


class AgentAccounts:
    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self._db = db
        self._hasher = hasher or PasswordHasher()

    def add(self, username: str, display_name: str, password: str) -> Agent:
        if not USERNAME.match(username):
            raise AgentError("a username is 2-64 lower-case letters, digits, '.', '_' or '-'")
        if len(password) < MIN_PASSWORD:
            raise AgentError(f"a password has at least {MIN_PASSWORD} characters")
        with Session(self._db, expire_on_commit=False) as session:
            if session.exec(select(Agent).where(Agent.username == username)).first():
                raise AgentError(f"there is already an agent {username!r}")
            agent = Agent(
                username=username,
                display_name=display_name or username,
                password_hash=self._hasher.hash(password),
            )
            session.add(agent)
            session.commit()
            return agent

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The agent when the password is right, else None (the same for unknown names)."""
        with Session(self._db, expire_on_commit=False) as session:
            agent = session.exec(select(Agent).where(Agent.username == username)).first()
            if agent is None:
                self._hasher.hash(password)  # as slow as a real check: names don't leak by time
                return None
            try:
                self._hasher.verify(agent.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if self._hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = self._hasher.hash(password)
                session.add(agent)
                session.commit()
            return agent

    def change_password(self, agent_id: int, current: str, new: str, keep_login: str) -> list[str]:
        """The agent's own change (the console): the current password first. Ends the agent's
        other logins; the ones ended."""
        with Session(self._db) as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise AgentError("there is no such agent")
            try:
                self._hasher.verify(agent.password_hash, current)
            except (VerificationError, InvalidHashError) as exc:
                raise WrongPasswordError("the current password is not right") from exc
            username = agent.username
        return self.set_password(username, new, keep_login)

    def set_password(
        self, username: str, password: str, keep_login: str | None = None
    ) -> list[str]:
        """A new password; every login but `keep_login` ends (a copied cookie stops working
        with the old password). The logins ended."""
        if len(password) < MIN_PASSWORD:
            raise AgentError(f"a password has at least {MIN_PASSWORD} characters")
        with Session(self._db) as session:
            agent = self._named(session, username)
            agent.password_hash = self._hasher.hash(password)
            session.add(agent)
            live = session.exec(
                select(AgentLogin).where(
                    AgentLogin.agent_id == agent.id,
                    AgentLogin.ended_at.is_(None),  # type: ignore[union-attr]
                )
            ).all()
            ended = []
            for login in live:
                if login.id != keep_login:
                    login.ended_at = utcnow()
                    session.add(login)
                    ended.append(login.id)
            session.commit()
            return ended

    def link_slack(self, username: str, slack_user_id: str) -> Agent:
        """Make a Slack user this agent: what they do in the agents channel is theirs."""
        slack_user_id = slack_user_id.strip()
        if not SLACK_USER.match(slack_user_id):
            raise AgentError(
                f"{slack_user_id!r} is not a Slack user ID: in Slack, open the person's profile, "
                "⋮ → Copy member ID (it starts with U or W)"
            )
        with Session(self._db, expire_on_commit=False) as session:
            agent = self._named(session, username)
            other = session.exec(select(Agent).where(Agent.slack_user_id == slack_user_id)).first()
            if other is not None and other.id != agent.id:
                raise AgentError(f"{slack_user_id} is already linked to {other.username!r}")
            agent.slack_user_id = slack_user_id
            session.add(agent)
            session.commit()
            return agent

    def unlink_slack(self, username: str) -> Agent:
        with Session(self._db, expire_on_commit=False) as session:
            agent = self._named(session, username)
            agent.slack_user_id = None
            session.add(agent)
            session.commit()
            return agent

    def by_slack_user(self, slack_user_id: str) -> Agent | None:
        with Session(self._db, expire_on_commit=False) as session:
            query = select(Agent).where(Agent.slack_user_id == slack_user_id)
            return session.exec(query).first()

    def linked(self) -> list[Agent]:
        with Session(self._db, expire_on_commit=False) as session:
            query = select(Agent).where(Agent.slack_user_id.is_not(None))  # type: ignore[union-attr]
            return list(session.exec(query).all())

    @staticmethod
    def _named(session: Session, username: str) -> Agent:
        agent = session.exec(select(Agent).where(Agent.username == username)).first()
        if agent is None:
            raise AgentError(f"there is no agent {username!r} (see `shopclerk agents list`)")
        return agent

    def all(self) -> list[Agent]:
        with Session(self._db) as session:
            return list(session.exec(select(Agent).order_by(Agent.username)).all())
