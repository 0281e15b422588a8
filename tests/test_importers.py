"""Importers, on SQLite and PostgreSQL alike (the `db` fixture runs each test on both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from kb.database import Database
from kb.errors import SourceFileError
from kb.importers import import_faq, import_orders, import_products
from kb.models import FaqEntry, Order, Product
from shopclerk.wiring import demo_file

CSV_HEADER = "sku,name,brand,category,price,currency,stock,attributes,description\n"


def _products(db: Database) -> dict[str, Product]:
    with Session(db) as session:
        return {p.sku: p for p in session.exec(select(Product)).all()}


def test_csv_catalog_is_imported_with_attributes_and_cents(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        CSV_HEADER
        + "KIT-0001,Steel Kettle,Brewly,Kitchen,39.95,EUR,4,colour=silver; capacity=1.7 L,Boils.\n"
        + "KIT-0002,Glass Teapot,Brewly,Kitchen,24.50,EUR,0,,A teapot.\n"
    )
    report = import_products(db, path)
    assert (report.added, report.errors) == (2, [])
    kettle = _products(db)["KIT-0001"]
    assert kettle.price_cents == 3995
    assert kettle.price == "EUR 39.95"
    assert kettle.attributes == {"colour": "silver", "capacity": "1.7 L"}


def test_bad_rows_are_reported_with_file_and_line_and_skipped(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        CSV_HEADER
        + "KIT-0001,Steel Kettle,Brewly,Kitchen,39.95,EUR,4,,Boils.\n"
        + "KIT-0002,Teapot,Brewly,Kitchen,-3,EUR,1,,Negative price.\n"
        + "KIT-0003,Mug,Brewly,Kitchen,abc,EUR,1,,Not a price.\n"
    )
    report = import_products(db, path)
    assert report.added == 1
    assert [(e.path, e.line) for e in report.errors] == [(path, 3), (path, 4)]
    assert "price" in report.errors[0].message
    assert set(_products(db)) == {"KIT-0001"}


def test_json_rows_report_the_line_each_record_starts_on(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        '[\n {"sku": "A-1", "name": "Good", "price": 1},\n'
        ' {"sku": "A-2", "name": "Bad", "price": 2, "colour": "red"}\n]\n'
    )
    report = import_products(db, path)
    assert report.added == 1
    assert report.errors[0].line == 3
    assert "colour: unknown field" in report.errors[0].message


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.json", '[{"sku": "A-1",', "broken JSON"),
        ("wrong.json", '{"products": 3}', "expected a list"),
        ("catalog.xml", "<xml/>", "unknown file type"),
        ("empty.csv", "", "no header"),
    ],
)
def test_unreadable_file_is_a_clear_error_and_writes_nothing(
    db: Database, tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceFileError, match=reason):
        import_products(db, path)
    assert _products(db) == {}


def test_missing_file_is_a_clear_error(db: Database, tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="cannot read"):
        import_faq(db, tmp_path / "nope.json")


def test_imports_add_and_update_and_replace_replaces(db: Database, tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps([{"sku": "A-1", "name": "One", "price": 1},
                                 {"sku": "A-2", "name": "Two", "price": 2}]))  # fmt: skip
    second = tmp_path / "b.json"
    second.write_text(json.dumps([{"sku": "A-2", "name": "Two", "price": 3},
                                  {"sku": "A-3", "name": "Three", "price": 3}]))  # fmt: skip
    import_products(db, first)
    report = import_products(db, second)
    assert (report.added, report.updated) == (1, 1)
    assert set(_products(db)) == {"A-1", "A-2", "A-3"}
    assert _products(db)["A-2"].price_cents == 300

    report = import_products(db, second, replace=True)
    assert set(_products(db)) == {"A-2", "A-3"}
    assert report.removed == 1


def test_faq_in_the_common_questions_format(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "faq.json"
    path.write_text(json.dumps({"questions": [
        {"question": "Can I pay with PayPal?", "answer": "Yes."},
        {"question": "", "answer": "An answer without a question."},
    ]}, indent=1))  # fmt: skip
    report = import_faq(db, path)
    assert report.added == 1
    assert report.errors[0].line == 7  # where the second object's "{" stands
    with Session(db) as session:
        entry = session.exec(select(FaqEntry)).one()
    assert entry.question == "Can I pay with PayPal?"
    assert entry.key.startswith("can-i-pay-with-paypal")


def test_orders_must_add_up_and_have_our_id_format(db: Database, tmp_path: Path) -> None:
    good = {
        "order_id": "hp 100001", "customer_email": "Ann@Example.com", "status": "paid",
        "placed_at": "2026-11-01T10:00:00+01:00", "items": [
            {"sku": "A-1", "name": "One", "quantity": 2, "unit_price": 1.5, "line_total": 3.0}
        ], "subtotal": 3.0, "shipping_cost": 4.95, "total": 7.95,
    }  # fmt: skip
    wrong_total = {**good, "order_id": "HP-100002", "total": 9.99}
    wrong_id = {**good, "order_id": "12-34"}
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in (good, wrong_total, wrong_id)) + "\n{oops\n")
    report = import_orders(db, path)
    assert report.added == 1
    messages = {e.line: e.message for e in report.errors}
    assert "total" in messages[2]
    assert "HP- and six digits" in messages[3]
    assert "broken JSON" in messages[4]
    with Session(db) as session:
        order = session.exec(select(Order)).one()
    assert (order.order_id, order.customer_email, order.total_cents) == (
        "HP-100001",
        "ann@example.com",
        795,
    )


def test_the_demo_store_imports_cleanly(db: Database) -> None:
    products = import_products(db, demo_file("products.json"))
    faq = import_faq(db, demo_file("faq.json"))
    orders = import_orders(db, demo_file("orders.json"))
    assert products.errors == faq.errors == orders.errors == []
    assert products.added >= 150
    assert faq.added >= 60
    assert orders.added >= 300
    with Session(db) as session:
        catalog = {p.sku for p in session.exec(select(Product)).all()}
        for order in session.exec(select(Order)).all():
            assert {item["sku"] for item in order.items} <= catalog
            lines = sum(item["line_total_cents"] for item in order.items)
            assert lines == order.subtotal_cents
            assert order.subtotal_cents + order.shipping_cost_cents == order.total_cents
