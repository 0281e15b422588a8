"""Which shopper a widget session belongs to, and the record of identities that did not verify.

A session a verified shopper used is bound to them (the conversation's `customer_email`): it
is never handed to anyone without that shopper's identity, so the next person at a shared
computer, or someone who learnt the session id, does not see their orders.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from channels.web.identity import IdentityClaim, IdentityVerifier, RejectedError, Shopper
from engine.audit import IDENTITY_REJECTED, event
from engine.models import Conversation
from engine.store import ConversationStore

log = logging.getLogger(__name__)
VERIFIED, REJECTED = "verified", "rejected"


class Shoppers:
    def __init__(self, store: ConversationStore, verifier: IdentityVerifier, channel: str) -> None:
        self._store = store
        self._verifier = verifier
        self._channel = channel

    def check(
        self, claim: IdentityClaim | None, session: str | None, address: str | None
    ) -> tuple[Shopper | None, str | None]:
        """The verified shopper (or None) and what the welcome frame says: verified,
        rejected or None (no identity given). A rejection is recorded."""
        if claim is None:
            return None, None
        try:
            return self._verifier.verify(claim), VERIFIED
        except RejectedError as why:
            self.reject(claim, str(why), session, address)
            return None, REJECTED

    def reject(
        self, claim: IdentityClaim, why: str, session: str | None, address: str | None
    ) -> None:
        log.info("a shop identity was rejected (%s) from %s", why, address)
        with self._store.session() as db:
            conversation = self._conversation(db, session) if session else None
            db.add(
                event(
                    IDENTITY_REJECTED,
                    channel=self._channel,
                    conversation_id=conversation.id if conversation else None,
                    address=address,
                    email=claim.email,
                    detail=why,
                )
            )
            db.commit()

    def owner(self, session: str) -> tuple[bool, str | None]:
        """Whether the session exists, and the shopper it belongs to if one was verified on it."""
        with self._store.session() as db:
            conversation = self._conversation(db, session)
            if conversation is None:
                return False, None
            return True, conversation.customer_email

    def bind(self, session: str, shopper: Shopper) -> bool:
        """Make `session` this shopper's; False when it is already someone else's."""
        with self._store.session() as db:
            conversation = self._conversation(db, session)
            if conversation is None:
                return False
            if conversation.customer_email is None:
                conversation.customer_email = shopper.email
                conversation.customer_name = conversation.customer_name or shopper.name
                db.add(conversation)
                db.commit()
                return True
            return conversation.customer_email == shopper.email

    def _conversation(self, db: Session, session: str) -> Conversation | None:
        query = select(Conversation).where(
            Conversation.channel == self._channel, Conversation.key == session
        )
        return db.exec(query).first()
