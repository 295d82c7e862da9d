"""Fixtures of the bridge-service tests: a CA home with both profiles (the template of
tests/pki_ops, made once per test process) copied per test, and its CA service."""

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
sys.path.insert(0, str(TESTS / "pnc_install"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_ops = _load("_bridge_server_ops_conftest", TESTS / "pki_ops" / "conftest.py")
ca_template = _ops.ca_template
postgres_schema_url = _ops.postgres_schema_url
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
    with CaService(Home(home), passphrase=PASSPHRASE.encode, actor="test-bridge") as s:
        yield s


@pytest.fixture
def pnc(home: Path) -> Pnc:
    """``pnc`` on the test's home."""
    return make_pnc(home)


# -- a running bridge

import contextlib  # noqa: E402
import ssl  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

from harness import Bridge, BridgeFactory, running  # noqa: E402

from pnc.server.app import create_app  # noqa: E402
from pnc.server.runner import ssl_context  # noqa: E402
from pnc.server.settings import ServeSettings  # noqa: E402


@pytest.fixture
def bridge(service: CaService) -> BridgeFactory:
    """``bridge(**settings)``: a bridge on the test's home, served on a loopback port."""

    @contextlib.contextmanager
    def make(*, core: Any = None, **options: Any) -> Iterator[Bridge]:
        settings = replace(ServeSettings(port=0, process_id="test-process"), **options)
        app = create_app(service, settings, core=core)
        context: ssl.SSLContext | None = ssl_context(service, settings)
        with running(app, settings, context) as server:
            yield Bridge(server, app, app.state.ctx)

    return make


@pytest.fixture
def serve_in() -> Iterator[Any]:
    """``serve_in(home, *args)``: ``pnc serve`` on a free port (killed at the end of the test)."""
    from harness import start_serve

    processes: list[Any] = []

    def start(home: Path, *args: str, passphrase: str = PASSPHRASE) -> tuple[Any, int]:
        process, port = start_serve(home, args, passphrase)
        processes.append(process)
        return process, port

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)
