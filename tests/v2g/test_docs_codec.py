"""The examples of docs/codec.md run: every ```python block, and every ```console block's commands
with their output (``...`` in an expected line matches any text)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "codec.md"
BLOCK = re.compile(r"^```(python|console)\n(.*?)^```$", re.M | re.S)


def _blocks(kind: str) -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [
        (text[: m.start()].count("\n") + 1, m.group(2)) for m in BLOCK.finditer(text) if m.group(1) == kind
    ]


def test_the_doc_has_python_and_console_examples() -> None:
    assert len(_blocks("python")) >= 5 and len(_blocks("console")) >= 3


@pytest.mark.parametrize(
    ("line", "code"), _blocks("python"), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_python_example_runs(line: int, code: str) -> None:
    exec(compile(code, f"{DOC}:{line}", "exec"), {"__name__": "docs_example"})


def _commands(block: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for raw in block.splitlines():
        if raw.startswith("$ "):
            out.append((raw[2:], []))
        else:
            out[-1][1].append(raw)
    return out


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


@pytest.mark.parametrize(
    ("line", "block"), _blocks("console"), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_console_example_prints_what_the_doc_shows(line: int, block: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command, expected in _commands(block):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        actual = result.stdout.split("\n")
        if actual[-1] == "":
            actual.pop()
        assert len(actual) == len(expected), f"{command}\n{result.stdout}{result.stderr}"
        for want, got in zip(expected, actual, strict=True):
            assert _matches(want, got), f"{command}: expected {want!r}, got {got!r}\n{result.stderr}"
