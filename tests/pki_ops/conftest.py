"""Fixtures for the CA's operational parts: SoftHSM tokens, SQLite and PostgreSQL stores, homes."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops_helpers import FAST_KDF_ITERATIONS, SOFTHSM_MODULE, Pnc, SoftHsm, make_pnc, require_or_skip


@pytest.fixture(autouse=True)
def fast_key_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process ceremonies write 25 keys each: fewer PBKDF2 rounds keep the suite fast. The real
    count is checked in test_keystore, and every subprocess (ocsp-serve, the docs) uses it."""
    import pki.keystore

    monkeypatch.setattr(pki.keystore, "KDF_ITERATIONS", FAST_KDF_ITERATIONS)


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


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this test (dropped afterwards)."""
    url = os.environ.get("PNC_TEST_POSTGRES_URL") or None
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


@pytest.fixture(scope="session")
def ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with both profiles initialised (-2 on P-256, -20 on P-521), made once per test process."""
    home = tmp_path_factory.mktemp("template") / "home"
    pnc = make_pnc(home)
    pnc("pki", "init", "--profile", "iso15118-2", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp")
    pnc(
        "pki", "init", "--profile", "iso15118-20", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp"
    )
    return home


@pytest.fixture(scope="session")
def ca_template_ed448(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with ISO 15118-20 on Ed448, made once per test process."""
    home = tmp_path_factory.mktemp("template-ed448") / "home"
    make_pnc(home)(
        "pki",
        "init",
        "--profile",
        "iso15118-20",
        "--algorithm",
        "ed448",
        "--ocsp-url",
        "http://127.0.0.1:1/ocsp",
    )
    return home


@pytest.fixture
def pnc(ca_template: Path, tmp_path: Path) -> Pnc:
    """``pnc`` on a fresh copy of the template home (SQLite)."""
    home = tmp_path / "home"
    shutil.copytree(ca_template, home)
    return make_pnc(home)


@pytest.fixture
def pnc_db(db_url: str, tmp_path: Path) -> Pnc:
    """``pnc`` on a home initialised (ISO 15118-2) in this test, on SQLite and on PostgreSQL."""
    runner = make_pnc(tmp_path / "home", None if db_url.startswith("sqlite") else db_url)
    runner("pki", "init", "--org", "Test CA", "--ocsp-url", "http://127.0.0.1:1/ocsp")
    return runner
