"""Tables of the store's knowledge. Money is kept in integer cents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class Product(SQLModel, table=True):
    """One catalog item."""

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=300)
    brand: str = Field(default="", max_length=120)
    category: str = Field(default="", index=True, max_length=120)
    price_cents: int = Field(ge=0)
    currency: str = Field(default="EUR", max_length=3)
    stock: int = Field(default=0, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    description: str = ""
    delivery_estimate: str = ""
    content_hash: str = Field(default="", max_length=64)

    @property
    def price(self) -> str:
        """The price as the store writes it, e.g. "EUR 89.95"."""
        return f"{self.currency} {self.price_cents / 100:.2f}"

    def search_text(self) -> str:
        attrs = ", ".join(f"{k} {v}" for k, v in sorted(self.attributes.items()))
        return f"{self.name}. {self.brand}. {self.category}. {attrs}. {self.description}"


class FaqEntry(SQLModel, table=True):
    """A question the store answers the same way for everyone."""

    __tablename__ = "faq_entry"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=120)
    question: str
    alternates: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    answer: str
    topic: str = Field(default="", max_length=60)
    intents: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    content_hash: str = Field(default="", max_length=64)

    def search_text(self) -> str:
        return " ".join([self.question, *self.alternates, self.answer])


class Order(SQLModel, table=True):
    """An order record, as the shop system exported it."""

    __tablename__ = "shop_order"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True, unique=True, max_length=32)
    customer_name: str = ""
    customer_email: str = Field(index=True, max_length=320)
    status: str = Field(max_length=32)
    placed_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    refunded_at: datetime | None = None
    estimated_delivery: str | None = None
    shipping_country: str = ""
    shipping_city: str = ""
    shipping_method: str = "standard"
    carrier: str | None = None
    tracking_number: str | None = None
    invoice_number: str | None = None
    payment_method: str = ""
    currency: str = "EUR"
    # [{"sku", "name", "quantity", "unit_price_cents", "line_total_cents"}]
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    subtotal_cents: int = 0
    shipping_cost_cents: int = 0
    total_cents: int = 0

    def money(self, cents: int) -> str:
        return f"{self.currency} {cents / 100:.2f}"
