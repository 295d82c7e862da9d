"""Fixtures of the installation-service tests: a CA home with both profiles (the template of
tests/pki_ops, made once per test process), the CA service and installer on a copy of it, and a
test bench that makes vehicles, requests and store snapshots."""

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


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# the CA fixtures of tests/pki_ops (home template, PostgreSQL schema, fast key files)
_ops = _load("_pnc_install_ops_conftest", TESTS / "pki_ops" / "conftest.py")
ca_template = _ops.ca_template
ca_template_ed448 = _ops.ca_template_ed448
postgres_schema_url = _ops.postgres_schema_url
fast_key_files = _ops.fast_key_files

from bench import Bench  # noqa: E402


@pytest.fixture
def bench(ca_template: Path, tmp_path: Path) -> Iterator[Bench]:
    """A test bench on a fresh copy of the two-profile home (SQLite)."""
    home = tmp_path / "home"
    shutil.copytree(ca_template, home)
    with Bench.open(home) as b:
        yield b


@pytest.fixture
def pg_bench(postgres_schema_url: str, tmp_path: Path) -> Iterator[Bench]:
    """A test bench whose store is PostgreSQL (ISO 15118-2 initialised in this test)."""
    with Bench.create(tmp_path / "home", postgres_schema_url) as b:
        yield b
