"""Every ```sh example of docs/quickstart.md runs, in order, in a fresh directory, and does what
the page says: the demo passes, and the walkthrough installs, charges, revokes and is refused."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_the_quickstart_shows_the_demo_and_both_simulators() -> None:
    script = "\n".join(sh_blocks(DOC.read_text()))
    for command in (
        "pnc demo",
        "pnc demo --protocol din --json",
        "pnc sim charger",
        "pnc sim ev",
        "pnc serve",
    ):
        assert command in script, command


@pytest.mark.slow
def test_every_example_in_the_quickstart_runs(tmp_path: Path) -> None:
    bridge, charger = str(_free_port()), str(_free_port())
    blocks = [
        re.sub(r"(?<=:|\s)15118\b", charger, re.sub(r"(?<=:|\s)8080\b", bridge, b))
        for b in sh_blocks(DOC.read_text())
    ]
    # a failing step must not leave the background servers holding the output pipes open
    script = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + "\n".join(blocks)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=400)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, f"{stdout}\n{stderr}"
    assert "every step did what it should" in stdout
    assert "True Authorize Blocked; EV: ContractAuthenticationReq FAILED; 0.00 Wh" in stdout
    assert "contract DE8AACA2B3C4D5L installed; authorized (PnC)" in stdout
    assert "FAILED_CertificateRevoked" in stdout  # the refused session's exchanges
    sessions = (tmp_path / "charger.log").read_text().splitlines()
    assert len(sessions) == 2
    assert "installation Accepted" in sessions[0] and "Authorize Accepted/Accepted" in sessions[0]
    assert "Authorize Invalid/CertificateRevoked" in sessions[1] and "0.00 Wh" in sessions[1]
