"""Fixtures for the CA's operational parts: SoftHSM tokens, SQLite and PostgreSQL stores, homes."""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
_spec = importlib.util.spec_from_file_location("_pnc_tests_root_conftest", _ROOT_CONFTEST)
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
require_or_skip: Callable[[str, str], None] = _root.require_or_skip

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


class SoftHsm:
    """A SoftHSM 2 token directory of this test process, with one initialised token."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.conf = base / "softhsm2.conf"
        (base / "tokens").mkdir(parents=True)
        self.conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
        self.module = SOFTHSM_MODULE
        self.label = "pnc-test-" + secrets.token_hex(4)
        self.pin = "1234"
        self.pin_file = base / "pin"
        self.pin_file.write_text(self.pin + "\n")
        self.init_token(self.label)

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def init_token(self, label: str) -> None:
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                self.pin,
                "--so-pin",
                "4321",
            ],
            check=True,
            capture_output=True,
            env=self.env(),
        )


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """One SoftHSM token per test process (PKCS#11 reads its token list when it is first loaded,
    so this process's SOFTHSM2_CONF is set once, before pki.hsm loads the module)."""
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).is_file():
        require_or_skip("hsm", f"softhsm2-util or {SOFTHSM_MODULE} not installed")
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        require_or_skip("hsm", "python-pkcs11 not installed (extra 'hsm')")
    hsm = SoftHsm(tmp_path_factory.mktemp("softhsm"))
    os.environ["SOFTHSM2_CONF"] = str(hsm.conf)
    return hsm


def _postgres_url() -> str | None:
    return os.environ.get("PNC_TEST_POSTGRES_URL") or None


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this test (dropped afterwards)."""
    url = _postgres_url()
    if url is None:
        require_or_skip("postgres", "PNC_TEST_POSTGRES_URL is not set")
        raise AssertionError("unreachable")
    from sqlalchemy import create_engine, text

    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        require_or_skip("postgres", f"cannot reach {url}: {exc}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of a test that runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: Any = request.getfixturevalue("postgres_schema_url")
    return str(url)
