"""The committed generated modules (v2g/_tables) are what the generator makes from v2g/schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("xmlschema")

from v2g.codegen.generate import generate

TABLES = Path(__file__).resolve().parents[2] / "v2g" / "_tables"


def test_generated_modules_are_current(tmp_path: Path) -> None:
    written = generate(tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(p.name for p in TABLES.glob("*.py"))
    for path in written:
        committed = (TABLES / path.name).read_bytes()
        assert committed == path.read_bytes(), f"v2g/_tables/{path.name} is stale: run python -m v2g.codegen"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in generate(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in generate(tmp_path / "b")}
    assert first == second
