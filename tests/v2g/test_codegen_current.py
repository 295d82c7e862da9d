"""The committed generated modules (v2g/_tables, v2g/messages) are what the generator makes from
v2g/schemas, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("xmlschema")

from v2g.codegen.generate import generate

PACKAGE = Path(__file__).resolve().parents[2] / "v2g"
GENERATED = ("_tables", "messages")


def test_generated_modules_are_current(tmp_path: Path) -> None:
    written = generate(tmp_path)
    rel = sorted(str(p.relative_to(tmp_path)) for p in written)
    committed = sorted(str(p.relative_to(PACKAGE)) for d in GENERATED for p in (PACKAGE / d).glob("*.py"))
    assert rel == committed
    for path in written:
        name = path.relative_to(tmp_path)
        assert (PACKAGE / name).read_bytes() == path.read_bytes(), (
            f"v2g/{name} is stale: run python -m v2g.codegen"
        )


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in generate(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in generate(tmp_path / "b")}
    assert first == second
