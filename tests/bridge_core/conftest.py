"""Fixtures of the bridge-core tests: a CA home (the two-profile template of tests/pki_ops, copied
per test), its CA service and a BridgeCore on it; a foreign PKI (another home) whose OCSP
responder runs over real HTTP on a free port for the whole test process."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS / "pki_ops"))
sys.path.insert(0, str(TESTS / "pnc_install"))
sys.path.insert(0, str(HERE))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_ops = _load("_bridge_core_ops_conftest", TESTS / "pki_ops" / "conftest.py")
ca_template = _ops.ca_template
postgres_schema_url = _ops.postgres_schema_url
fast_key_files = _ops.fast_key_files

from bridge_helpers import ForeignPki, Home  # noqa: E402


@pytest.fixture
def home(ca_template: Path, tmp_path: Path) -> Iterator[Home]:
    """The two-profile home on SQLite, copied for this test."""
    path = tmp_path / "home"
    shutil.copytree(ca_template, path)
    with Home.open(path) as h:
        yield h


@pytest.fixture
def pg_home(postgres_schema_url: str, tmp_path: Path) -> Iterator[Home]:
    """A home (ISO 15118-2) whose store is a fresh PostgreSQL schema."""
    with Home.create(tmp_path / "home", postgres_schema_url) as h:
        yield h


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForeignPki]:
    """Another organisation's PKI with its OCSP responder on a free loopback port."""
    with ForeignPki.start(tmp_path_factory.mktemp("foreign")) as pki:
        yield pki
