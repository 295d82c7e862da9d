"""Fixtures of the simulator tests: a CA home with both profiles (the template of tests/pki_ops,
made once per test process) copied per test, its CA service, and charger/EV material issued from
it (PEM files, as ``pnc pki issue`` writes them)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "pki_ops"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(TESTS / "bridge_server"))  # harness: TLS material for a wss:// bridge


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_ops = _load("_sims_ops_conftest", TESTS / "pki_ops" / "conftest.py")
ca_template = _ops.ca_template
fast_key_files = _ops.fast_key_files

from ops_helpers import PASSPHRASE, Pnc, make_pnc  # noqa: E402

from pki.ca import CaService  # noqa: E402
from pki.home import Home  # noqa: E402


@pytest.fixture
def home(ca_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the two-profile home (SQLite store)."""
    path = tmp_path / "home"
    shutil.copytree(ca_template, path)
    return path


@pytest.fixture
def service(home: Path) -> Iterator[CaService]:
    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="test-sims") as s:
        yield s


@pytest.fixture
def pnc(home: Path) -> Pnc:
    return make_pnc(home)
