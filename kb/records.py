"""Validated shapes of the records the importers accept, and the order-id format.

Order ids: `HP-` followed by six digits (HP-100001). Customers also write `hp100123`,
`HP 100123`, `#100123` or `order 100123`; `normalize_order_id` maps all of them to `HP-100123`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

ORDER_ID_RE = re.compile(r"^HP-\d{6}$")
ORDER_PREFIX = "HP-"
ORDER_STATUSES = (
    "pending",
    "paid",
    "shipped",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "return_requested",
    "returned",
    "refunded",
)


def normalize_order_id(raw: str) -> str | None:
    """`hp 100123`, `#100123`, `HP-100123` -> `HP-100123`; None when it is not one."""
    digits = re.sub(r"^(?:hp)?[\s#-]*", "", raw.strip(), flags=re.IGNORECASE)
    if re.fullmatch(r"\d{6}", digits):
        return ORDER_PREFIX + digits
    return None


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductRecord(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    brand: str = ""
    category: str = ""
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    stock: int = Field(default=0, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    delivery_estimate: str = ""

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes_from_text(cls, value: Any) -> Any:
        """CSV cells carry attributes as `colour=red; size=M`."""
        if isinstance(value, str):
            pairs = [p.split("=", 1) for p in value.split(";") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("attributes must look like 'colour=red; size=M'")
            return {k.strip(): v.strip() for k, v in pairs}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class FaqRecord(_Strict):
    id: str | None = Field(default=None, max_length=120)
    question: str = Field(min_length=3)
    alternates: list[str] = Field(default_factory=list, max_length=31)  # other ways to ask
    answer: str = Field(min_length=1)
    topic: str = ""
    intents: list[str] = Field(default_factory=list)

    def key(self) -> str:
        if self.id:
            return self.id
        slug = re.sub(r"[^a-z0-9]+", "-", self.question.lower()).strip("-")[:80]
        return f"{slug}-{content_hash(self.question)[:6]}"


class OrderItemRecord(_Strict):
    sku: str
    name: str
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0, decimal_places=2)
    line_total: Decimal = Field(ge=0, decimal_places=2)

    @model_validator(mode="after")
    def _line_adds_up(self) -> OrderItemRecord:
        if self.unit_price * self.quantity != self.line_total:
            raise ValueError(
                f"line total {self.line_total} of {self.sku} is not "
                f"{self.quantity} x {self.unit_price}"
            )
        return self


class OrderRecord(_Strict):
    order_id: str
    customer_name: str = ""
    customer_email: EmailStr
    status: str
    placed_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    refunded_at: datetime | None = None
    estimated_delivery: date | None = None
    shipping_country: str = ""
    shipping_city: str = ""
    shipping_method: str = "standard"
    carrier: str | None = None
    tracking_number: str | None = None
    invoice_number: str | None = None
    payment_method: str = ""
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    items: list[OrderItemRecord] = Field(min_length=1)
    subtotal: Decimal = Field(ge=0)
    shipping_cost: Decimal = Field(ge=0)
    total: Decimal = Field(ge=0)

    @field_validator("order_id")
    @classmethod
    def _order_id_format(cls, value: str) -> str:
        normal = normalize_order_id(value)
        if normal is None:
            raise ValueError(f"order id {value!r} is not HP- and six digits")
        return normal

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in ORDER_STATUSES:
            raise ValueError(f"unknown status {value!r}; one of {', '.join(ORDER_STATUSES)}")
        return value

    @model_validator(mode="after")
    def _totals_add_up(self) -> OrderRecord:
        subtotal = sum((item.line_total for item in self.items), Decimal(0))
        if subtotal != self.subtotal:
            raise ValueError(f"subtotal {self.subtotal} is not the sum of its lines ({subtotal})")
        if self.subtotal + self.shipping_cost != self.total:
            raise ValueError(f"total {self.total} is not subtotal + shipping")
        return self
