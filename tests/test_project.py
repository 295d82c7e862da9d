"""The project's own invariants: package boundaries and the command entry point."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_v2g_never_imports_pki_or_pnc() -> None:
    assert not _imports("v2g") & {"pki", "pnc"}


def test_pki_never_imports_pnc_or_v2g() -> None:
    assert not _imports("pki") & {"pnc", "v2g"}


def test_pnc_command_prints_its_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pnc", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("pnc, version ")
