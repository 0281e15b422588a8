"""Importers for catalogs (CSV, JSON, JSONL), FAQ files and order exports.

A file that cannot be read at all raises `SourceFileError` and writes nothing. A row that is
wrong is reported with its file and line and skipped; the good rows are written in one
transaction, so an import is either written whole or not at all. Imports add to (or update) what
is there; `replace=True` replaces every record of that kind instead.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine as Database
from sqlmodel import Session, SQLModel, delete, select

from kb.errors import SourceFileError
from kb.models import FaqEntry, Order, Product
from kb.records import FaqRecord, OrderRecord, ProductRecord, content_hash, to_cents

Kind = Literal["products", "faq", "orders"]
R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class RowError:
    """One skipped row: where it is and what is wrong with it."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportReport:
    kind: Kind
    path: Path
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.kind} from {self.path}: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed, {len(self.errors)} rows skipped"
        )


@dataclass(frozen=True)
class _Row:
    line: int
    data: dict[str, Any]
    problem: str | None = None  # set when the row could not even be parsed


def import_products(db: Database, path: Path, *, replace: bool = False) -> ImportReport:
    records, report = _validated(path, "products", ProductRecord, _read_rows(path, None))
    rows = [_product_row(r) for r in records]
    _store(db, report, Product, "sku", rows, replace)
    return report


def import_faq(db: Database, path: Path, *, replace: bool = False) -> ImportReport:
    records, report = _validated(path, "faq", FaqRecord, _read_rows(path, "questions"))
    rows = [_faq_row(r) for r in records]
    _store(db, report, FaqEntry, "key", rows, replace)
    return report


def import_orders(db: Database, path: Path, *, replace: bool = False) -> ImportReport:
    records, report = _validated(path, "orders", OrderRecord, _read_rows(path, "orders"))
    rows = [_order_row(r) for r in records]
    _store(db, report, Order, "order_id", rows, replace)
    return report


def _validated(
    path: Path, kind: Kind, model: type[R], rows: Sequence[_Row]
) -> tuple[list[R], ImportReport]:
    report = ImportReport(kind=kind, path=path)
    records: list[R] = []
    for row in rows:
        if row.problem:
            report.errors.append(RowError(path, row.line, row.problem))
            continue
        try:
            records.append(model.model_validate(row.data))
        except ValidationError as exc:
            report.errors.append(RowError(path, row.line, _explain(exc)))
    return records, report


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "row"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


# -- reading ---------------------------------------------------------------------------------


def _read_rows(path: Path, list_key: str | None) -> list[_Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFileError(path, f"cannot read: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, text)
    if suffix == ".jsonl":
        return list(_jsonl_rows(path, text))
    if suffix == ".json":
        return _json_rows(path, text, list_key)
    raise SourceFileError(path, "unknown file type: use .csv, .json or .jsonl")


def _csv_rows(path: Path, text: str) -> list[_Row]:
    _closed_quotes(path, text)
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise SourceFileError(path, "empty CSV file: no header row")
    rows = []
    for record in reader:
        if None in record:
            rows.append(_Row(reader.line_num, {}, "more cells than the header has columns"))
            continue
        data = {k: v for k, v in record.items() if v not in (None, "")}
        rows.append(_Row(reader.line_num, data))
    return rows


def _closed_quotes(path: Path, text: str) -> None:
    """A quote that is never closed swallows every later row into one cell (the rows would be
    reported as one with missing fields): refuse the file, naming the line the quote opens."""
    reader = csv.reader(text.splitlines(), strict=True)
    ended = 0  # the last line of the last complete record
    try:
        for _ in reader:
            ended = reader.line_num
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return  # a looser problem the usual reading tolerates, as before
        lines = text.splitlines()
        opened = next((n for n in range(ended, len(lines)) if '"' in lines[n]), ended) + 1
        raise SourceFileError(
            path,
            f'broken CSV at line {opened}: a quoted cell is never closed (a " without '
            'its closing "), so the rest of the file would be read as that one cell',
        ) from exc


def _jsonl_rows(path: Path, text: str) -> Iterator[_Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _Row(number, {}, f"broken JSON: {exc.msg}")
            continue
        yield _object_row(number, value)


def _json_rows(path: Path, text: str, list_key: str | None) -> list[_Row]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFileError(path, f"broken JSON at line {exc.lineno}: {exc.msg}") from exc
    items = document
    if isinstance(document, dict):
        if list_key is None or not isinstance(document.get(list_key), list):
            expected = f'a list or {{"{list_key}": [...]}}' if list_key else "a list"
            raise SourceFileError(path, f"expected {expected}")
        items = document[list_key]
    if not isinstance(items, list):
        raise SourceFileError(path, "expected a list of records")
    start = text.index("[") if isinstance(document, list) else _list_start(text, list_key or "")
    lines = _item_lines(text, start, len(items))
    return [_object_row(line, item) for line, item in zip(lines, items, strict=True)]


def _object_row(line: int, value: Any) -> _Row:
    if isinstance(value, dict):
        return _Row(line, value)
    return _Row(line, {}, f"expected an object, got {type(value).__name__}")


def _item_lines(text: str, start: int, count: int) -> list[int]:
    """The line on which each element of the JSON array starting at `start` begins."""
    decoder = json.JSONDecoder()
    position, lines = start + 1, []
    for _ in range(count):
        while text[position] in " \t\r\n,":
            position += 1
        lines.append(text.count("\n", 0, position) + 1)
        _, position = decoder.raw_decode(text, position)
    return lines


def _list_start(text: str, list_key: str) -> int:
    """Index of the `[` of `list_key`'s value in a `{"key": [...], ...}` document."""
    decoder = json.JSONDecoder()
    position = text.index("{") + 1
    while True:
        while text[position] in " \t\r\n,":
            position += 1
        key, position = decoder.raw_decode(text, position)
        while text[position] in " \t\r\n:":
            position += 1
        if key == list_key:
            return position
        _, position = decoder.raw_decode(text, position)


# -- writing ---------------------------------------------------------------------------------


def _product_row(r: ProductRecord) -> Product:
    product = Product(
        sku=r.sku,
        name=r.name,
        brand=r.brand,
        category=r.category,
        price_cents=to_cents(r.price),
        currency=r.currency,
        stock=r.stock,
        attributes=r.attributes,
        description=r.description,
        delivery_estimate=r.delivery_estimate,
    )
    product.content_hash = content_hash(product.search_text())
    return product


def _faq_row(r: FaqRecord) -> FaqEntry:
    entry = FaqEntry(
        key=r.key(),
        question=r.question,
        alternates=r.alternates,
        answer=r.answer,
        topic=r.topic,
        intents=r.intents,
    )
    entry.content_hash = content_hash(entry.search_text())
    return entry


def _order_row(r: OrderRecord) -> Order:
    data = r.model_dump(
        exclude={
            "items",
            "subtotal",
            "shipping_cost",
            "total",
            "customer_email",
            "estimated_delivery",
        }
    )
    return Order(
        **data,
        customer_email=str(r.customer_email).lower(),
        estimated_delivery=r.estimated_delivery.isoformat() if r.estimated_delivery else None,
        items=[
            {
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price_cents": to_cents(i.unit_price),
                "line_total_cents": to_cents(i.line_total),
            }
            for i in r.items
        ],
        subtotal_cents=to_cents(r.subtotal),
        shipping_cost_cents=to_cents(r.shipping_cost),
        total_cents=to_cents(r.total),
    )


def _store(
    db: Database,
    report: ImportReport,
    table: type[SQLModel],
    key: str,
    rows: list[Any],
    replace: bool,
) -> None:
    if not rows:  # every row was skipped (or none given): nothing is written, nor removed
        return
    seen: dict[str, Any] = {}
    for row in rows:
        seen[getattr(row, key)] = row  # a later row with the same key wins, as in a re-import
    with Session(db) as session, session.begin():
        if replace:
            existing_count = len(session.exec(select(table)).all())
            session.exec(delete(table))  # type: ignore[call-overload]
            session.flush()
            report.removed = max(existing_count - len(seen), 0)
            existing: dict[str, Any] = {}
        else:
            column = getattr(table, key)
            existing = {
                getattr(r, key): r
                for r in session.exec(select(table).where(column.in_(list(seen)))).all()
            }
        for value, row in seen.items():
            _upsert(session, report, existing.get(value), row)


def _upsert(session: Session, report: ImportReport, old: Any, new: Any) -> None:
    if old is None:
        session.add(new)
        report.added += 1
        return
    fields = [name for name in new.model_fields if name != "id"]
    if all(getattr(old, name) == getattr(new, name) for name in fields):
        report.unchanged += 1
        return
    for name in fields:
        setattr(old, name, getattr(new, name))
    session.add(old)
    report.updated += 1
