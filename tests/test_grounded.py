"""The grounded generator's wording of records."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from engine.generators.grounded import order_summary
from kb.models import Order


def _order(**fields: object) -> Order:
    base: dict[str, object] = {
        "order_id": "HP-100001", "customer_email": "a@example.com", "status": "shipped",
        "placed_at": datetime(2026, 11, 16, 23, 30, tzinfo=UTC),  # 00:30 on the 17th in Utrecht
        "shipped_at": datetime(2026, 11, 17, 9, 0, tzinfo=UTC), "carrier": "PostNL",
        "tracking_number": "3SABCDEFGHIJKLM", "estimated_delivery": "2026-11-19",
        "total_cents": 8994, "invoice_number": "INV-2026-000001",
    }  # fmt: skip
    return Order(**{**base, **fields})


def test_dates_are_told_in_the_stores_time_zone() -> None:
    text = order_summary(_order(), "track_order", ZoneInfo("Europe/Amsterdam"))
    assert "placed on 17 November 2026 (EUR 89.94)" in text
    assert "with PostNL, tracking number 3SABCDEFGHIJKLM" in text
    assert "Estimated delivery: 19 November 2026." in text


def test_each_status_says_what_it_means() -> None:
    cancelled = order_summary(
        _order(status="cancelled", cancelled_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
               carrier=None, tracking_number=None),
        "cancel_order",
    )  # fmt: skip
    assert "was cancelled" in cancelled
    assert "It was cancelled on 18 November 2026." in cancelled
    assert "tracking" not in cancelled


def test_invoice_questions_get_the_invoice_number_or_why_there_is_none() -> None:
    assert "INV-2026-000001" in order_summary(_order(), "get_invoice")
    pending = order_summary(_order(status="pending", invoice_number=None), "get_invoice")
    assert "no invoice yet" in pending
