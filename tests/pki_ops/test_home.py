"""The home's configuration file and store location."""

from __future__ import annotations

from pathlib import Path

import pytest

from pki.home import Home, HomeConfig, HomeError, ProfileSettings
from pki.hsm import HsmSettings


def test_config_round_trips_through_the_file(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    config = HomeConfig(
        hsm=HsmSettings("/usr/lib/softhsm/libsofthsm2.so", "ca-token", tmp_path / "pin"),
        profiles={"iso15118-2": ProfileSettings("p256", "Org", "DE", "http://ocsp.example/")},
    )
    home.save(config)
    assert home.load() == config
    assert not list(home.path.glob(".config-*"))  # the temporary file of the atomic write is gone


def test_uninitialised_home_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(HomeError, match=r"not a CA home.*pnc pki init"):
        Home(tmp_path).load()


def test_damaged_config_is_a_home_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"version": 1}')
    with pytest.raises(HomeError, match="damaged configuration"):
        Home(tmp_path).load()
    (tmp_path / "config.json").write_text("not json")
    with pytest.raises(HomeError, match="damaged configuration"):
        Home(tmp_path).load()


def test_store_url_prefers_the_flag_then_the_record_then_sqlite_in_the_home(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert home.store_url(HomeConfig()) == f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert home.store_url(HomeConfig(db_url="postgresql+psycopg://u@h/db")) == "postgresql+psycopg://u@h/db"
    assert home.store_url(HomeConfig(db_url="postgresql+psycopg://u@h/db"), "sqlite:///x") == "sqlite:///x"


def test_a_database_password_is_never_recorded() -> None:
    assert Home.recordable_db_url("postgresql+psycopg://u:secret@h/db") is None
    assert Home.recordable_db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
