"""Every ```sh example of docs/pki.md runs, in order, in a fresh directory, and succeeds."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ops_helpers import SOFTHSM_MODULE, require_or_skip

DOC = Path(__file__).resolve().parents[2] / "docs" / "pki.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_docs_cover_every_pki_command() -> None:
    script = "\n".join(sh_blocks(DOC.read_text()))
    for command in ("init", "issue contract", "issue secc", "issue oem-prov", "issue charging-station",
                    "roots", "revoke", "crl", "list", "show", "ocsp-serve"):  # fmt: skip
        assert f"pnc pki {command}" in script, command


def test_every_example_in_docs_pki_runs(tmp_path: Path) -> None:
    for tool in ("openssl", "softhsm2-util"):
        if shutil.which(tool) is None:
            require_or_skip("hsm", f"{tool} not installed")
    if not Path(SOFTHSM_MODULE).is_file():
        require_or_skip("hsm", f"{SOFTHSM_MODULE} not installed")
    port = str(_free_port())
    script = "\n".join(block.replace("8080", port) for block in sh_blocks(DOC.read_text()))
    # a failing step must not leave the background responder holding the output pipes open
    script = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PNC_", "SOFTHSM2_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # its own process group: on a timeout the background responder goes down with the script
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=240)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, f"{stdout}\n{stderr}"
    assert "contract.pem: OK" in stdout and "secc.pem: OK" in stdout
    assert "contract-leaf.pem: good" in stdout and "contract-leaf.pem: revoked" in stdout
    assert (tmp_path / "hsm-contract.pem").read_text().count("BEGIN CERTIFICATE") == 3
