"""A logged-in shopper, as the shop's backend signed it (docs/websocket-protocol.md, identity).

The shop knows who is logged in; this server does not. So the shop signs the customer's id and
email with a secret both share, and the widget passes the signature along: either an
HMAC-SHA256 (hex) of f"{customer_id}\\n{email}", or a short-lived HS256 JWT with `sub`, `email`
and `exp` claims. Anything that does not verify is ignored, never trusted: a typed-in email
proves nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field


class IdentityClaim(BaseModel):
    """What a page says about its shopper: signed fields, or a token."""

    model_config = ConfigDict(extra="forbid")
    customer_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)  # shown to agents; not signed
    signature: str | None = Field(default=None, max_length=200)
    token: str | None = Field(default=None, max_length=4096)


@dataclass(frozen=True)
class Shopper:
    """A verified shopper: the email is the shop's, not typed by whoever holds the page."""

    customer_id: str
    email: str
    name: str | None = None


class RejectedError(ValueError):
    """An identity that did not verify; the message says why (for the security log)."""


class IdentityVerifier:
    def __init__(self, secret: str | None, max_age_seconds: int) -> None:
        self._secret = secret
        self.max_age_seconds = max_age_seconds

    def verify(self, claim: IdentityClaim) -> Shopper:
        """The shopper `claim` proves, or `RejectedError`."""
        if not self._secret:
            raise RejectedError("no identity secret is configured: signed shoppers are off")
        if claim.token is not None:
            return self._verify_token(claim.token, self._secret)
        if not (claim.customer_id and claim.email):
            raise RejectedError("customer_id and email are required")
        if not claim.signature:
            raise RejectedError("unsigned identity")
        expected = sign(self._secret, claim.customer_id, claim.email)
        if not hmac.compare_digest(expected, claim.signature.strip().lower()):
            raise RejectedError("bad signature")
        return Shopper(claim.customer_id, claim.email.strip().lower(), _name(claim.name))

    def _verify_token(self, token: str, secret: str) -> Shopper:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub", "email"]},
            )
        except jwt.PyJWTError as exc:
            raise RejectedError(f"token: {exc}") from exc
        if claims["exp"] > time.time() + self.max_age_seconds + 60:  # a minute of clock skew
            raise RejectedError("token lives longer than identity_max_age_seconds")
        sub, email, name = claims["sub"], claims["email"], claims.get("name")
        if not (isinstance(sub, str) and sub and isinstance(email, str) and "@" in email):
            raise RejectedError("token: sub and email must be non-empty strings")
        return Shopper(sub, email.strip().lower()[:320], _name(name))


def sign(secret: str, customer_id: str, email: str) -> str:
    """The signature the shop's backend computes (lower-case hex)."""
    message = f"{customer_id}\n{email}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _name(name: Any) -> str | None:
    return name.strip()[:200] or None if isinstance(name, str) else None
