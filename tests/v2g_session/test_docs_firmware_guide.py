"""docs/firmware-guide.md runs: its ```sh examples in order in a fresh directory, then its ```python
examples in order in one process in that directory, whose output is the doc's ```text blocks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "firmware-guide.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_guide_has_examples_for_each_part() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert len(_blocks("python")) >= 7 and _blocks("sh") and _blocks("text")
    for topic in (
        "receive_data",
        "data_to_send",
        "next_deadline",
        "tick",
        "connection_lost",
        "TimeoutExpired",
    ):
        assert f"`{topic}" in text, topic


def test_every_example_in_the_firmware_guide_runs_and_prints_what_the_guide_shows(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(_blocks("sh"))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, f"{shell.stdout}\n{shell.stderr}"
    program = tmp_path / "examples.py"
    program.write_text("\n\n".join(_blocks("python")))
    env["PNC_HOME"] = str(tmp_path / "pnc-home")
    env["PNC_CA_PASSPHRASE"] = "correct horse battery staple"
    python = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert python.returncode == 0, f"{python.stdout}\n{python.stderr}"
    assert python.stdout == "".join(_blocks("text"))
