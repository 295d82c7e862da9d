"""Fixtures of the OCPP 1.6 / 2.1 tests: those of tests/bridge_server (a copy of the two-profile CA
home per test, its CA service, ``bridge(**settings)`` serving it on a loopback port)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS / "pnc_install"))
sys.path.insert(0, str(TESTS / "bridge_core"))
sys.path.insert(0, str(HERE))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_server = _load("_bridge_versions_server_conftest", TESTS / "bridge_server" / "conftest.py")
ca_template = _server.ca_template
postgres_schema_url = _server.postgres_schema_url
fast_key_files = _server.fast_key_files
home = _server.home
service = _server.service
pnc = _server.pnc
bridge = _server.bridge
