"""docs/plug-and-charge.md runs: every ```sh example in order in a fresh directory, then every
```python example in order in one process in that directory; and the doc covers every
``pnc contracts`` command and every outcome of an installation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pnc.core.install_codes import Outcome

DOC = Path(__file__).resolve().parents[2] / "docs" / "plug-and-charge.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_docs_cover_every_contracts_command_and_outcome() -> None:
    script = "\n".join(_blocks("sh"))
    for command in ("add", "list", "block", "remove", "policy"):
        assert f"pnc contracts {command}" in script, command
    text = DOC.read_text(encoding="utf-8")
    for outcome in Outcome:
        assert f"| `{outcome.value}` |" in text, outcome


def test_every_example_in_docs_plug_and_charge_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(_blocks("sh"))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, f"{shell.stdout}\n{shell.stderr}"
    assert "DE8AACA2B3C4D5L" in shell.stdout and '"emaid_prefix": null' in shell.stdout
    assert "DE8AACA2B3C4D6Q" in (tmp_path / "blocked.json").read_text()
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
