from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shopclerk.settings import Settings, load_settings


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SHOPCLERK_MAX_MESSAGE_CHARS=900\nSHOPCLERK_THREADS=2\n")
    monkeypatch.setenv("SHOPCLERK_THREADS", "1")
    settings = Settings()
    assert (settings.max_message_chars, settings.threads) == (900, 1)


def test_data_dir_holds_the_database_and_the_flag_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPCLERK_DATA_DIR", str(tmp_path / "from-env"))
    settings = load_settings(tmp_path / "from-flag")
    assert settings.data_dir == tmp_path / "from-flag"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'from-flag' / 'shopclerk.db'}"
    assert settings.data_dir.is_dir()


def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPCLERK_THREADS", "many")
    with pytest.raises(ValidationError, match="threads"):
        Settings()


def test_database_url_comes_from_the_usual_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://shop@db/shop")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://shop@db/shop"
