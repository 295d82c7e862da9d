"""Helpers of the CA operations tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PASSPHRASE = "ceremony passphrase for tests"
FAST_KDF_ITERATIONS = 2048  # in-process ceremonies only; pki.keystore's default is checked on its own


@contextlib.contextmanager
def fast_kdf() -> Iterator[None]:
    """Fewer PBKDF2 rounds for key files written inside the block (ceremonies of test fixtures)."""
    import pki.keystore

    saved = pki.keystore.KDF_ITERATIONS
    pki.keystore.KDF_ITERATIONS = FAST_KDF_ITERATIONS
    try:
        yield
    finally:
        pki.keystore.KDF_ITERATIONS = saved


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


# tests/conftest.py's require_or_skip, and P1's tests/pki/tools.py (openssl and pkilint helpers)
require_or_skip: Callable[[str, str], None] = _load(
    "_pnc_tests_root_conftest", TESTS / "conftest.py"
).require_or_skip
pki_tools: Any = _load("_pnc_tests_pki_tools", TESTS / "pki" / "tools.py")


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


class Pnc:
    """Runs ``pnc`` commands in this process (click's runner): real code, real store, real files."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env

    def __call__(self, *args: str | Path, ok: bool = True, env: dict[str, str] | None = None) -> Any:
        from click.testing import CliRunner

        from pnc.cli import main

        main._register()
        result = CliRunner().invoke(main.cli, [str(a) for a in args], env={**self.env, **(env or {})})
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"pnc {' '.join(map(str, args))} exited {result.exit_code}:\n{result.stdout}\n{result.stderr}\n{result.exception!r}"
            )
        return result

    def store(self) -> Any:
        from pki.home import Home
        from pki.store import Store

        home = Home(self.home)
        return Store(home.store_url(home.load(), self.env.get("PNC_DB_URL") or None))


def make_pnc(home: Path, db: str | None = None) -> Pnc:
    env = {
        "PNC_HOME": str(home),
        "PNC_CA_PASSPHRASE": PASSPHRASE,
        "PNC_ACTOR": "test-operator",
        "PNC_DB_URL": db or "",
    }
    return Pnc(home, env)
