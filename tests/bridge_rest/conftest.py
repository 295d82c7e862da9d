"""Fixtures of the REST API tests: the CA fixtures of tests/pki_ops (a home template with both
profiles, a fresh PostgreSQL schema per test, fast key files) and a Redis URL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "pki_ops"))
sys.path.insert(0, str(TESTS / "pnc_install"))
sys.path.insert(0, str(TESTS / "bridge_server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_ops = _load("_pnc_bridge_rest_ops_conftest", TESTS / "pki_ops" / "conftest.py")
ca_template = _ops.ca_template
postgres_schema_url = _ops.postgres_schema_url
fast_key_files = _ops.fast_key_files
db_url = _ops.db_url
pnc = _ops.pnc
pnc_db = _ops.pnc_db
