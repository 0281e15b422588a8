"""Alembic migrations for every table on `SQLModel.metadata` (run by `shopclerk db upgrade`)."""
