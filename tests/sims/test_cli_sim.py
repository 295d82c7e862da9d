"""``pnc sim ev`` and ``pnc sim charger`` as processes: ISO 15118-20 with mutual TLS and a contract
the EV already holds, from files ``pnc pki`` wrote; usage errors exit 2 and say what is missing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ops_helpers import PASSPHRASE, Pnc

EMAID = "DE8AACA2B3C4D5L"
SECC_ID = "DEPNCS" + "0" * 31 + "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_iso15118_20_ev_with_a_contract_finds_a_charger_with_sdp_and_charges_without_csms(
    pnc: Pnc, home: Path, tmp_path: Path
) -> None:
    d = tmp_path
    pnc("pki", "roots", "--profile", "iso15118-20", "--out-dir", d / "roots")
    for kind, ident, name in (
        ("secc", "--secc-id", SECC_ID),
        ("oem-prov", "--pcid", "WMIV1234567890ABC1"),
        ("contract", "--emaid", EMAID),
    ):
        pnc("pki", "issue", kind, "--profile", "iso15118-20", ident, name, "--out", d / f"{kind}.pem", "--key-out", d / f"{kind}.key", "--insecure")  # fmt: skip
    port, udp = str(_free_port()), str(_free_port())
    env = {**os.environ, "PNC_HOME": str(home), "PNC_CA_PASSPHRASE": PASSPHRASE}
    charger = subprocess.Popen(
        [sys.executable, "-m", "pnc", "sim", "charger", "--protocol", "iso15118-20", "--listen", f"127.0.0.1:{port}",
         "--cert", d / "secc.pem", "--key", d / "secc.key", "--oem-root", d / "roots" / "oem-root.pem",
         "--sdp", "--sdp-port", udp, "--sessions", "1", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        ev = subprocess.run(
            [sys.executable, "-m", "pnc", "sim", "ev", "--protocol", "iso15118-20", "--sdp", "--sdp-port", udp,
             "--trust", d / "roots" / "v2g-root.pem", "--mo-root", d / "roots" / "mo-root.pem",
             "--prov-cert", d / "oem-prov.pem", "--prov-key", d / "oem-prov.key",
             "--contract", d / "contract.pem", "--contract-key", d / "contract.key", "--loops", "2", "--format", "json"],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        out, err = charger.communicate(timeout=60)
    finally:
        if charger.poll() is None:
            charger.kill()
            charger.wait()
    assert ev.returncode == 0, ev.stdout + ev.stderr
    assert charger.returncode == 0, out + err
    seen, report = json.loads(out), json.loads(ev.stdout)
    assert report["tls"]["version"] == "TLSv1.3" and report["protocol"] == "iso20-dc"
    assert report["authorized"] == "PnC" and report["installed_emaid"] is None and report["loops"] == 2
    assert seen["client_certificate"] is True and seen["emaid"] == EMAID and seen["payment"] == "PnC"
    assert seen["authorization"] == ["Accepted (no CSMS)", None] and seen["outcome"] == "End"
    assert "pnc sim charger: iso15118-20 on 127.0.0.1:" in err and "TLS 1.3, mutual" in err
    assert f"SDP: the charger listens on 127.0.0.1:{port}" in ev.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ev", "--port", "1", "--protocol", "din", "--tls"], "plain TCP"),
        (["ev", "--protocol", "din"], "--port, or --sdp"),
        (["ev", "--port", "1", "--sdp", "--protocol", "din"], "--port, or --sdp"),
        (["ev", "--port", "1", "--protocol", "iso15118-20", "--no-tls"], "TLS 1.3 only"),
        (["ev", "--port", "1", "--protocol", "iso15118-2"], "TLS needs --trust"),
        (["ev", "--port", "1", "--protocol", "din", "--payment", "contract"], "no Plug & Charge"),
        (["charger", "--listen", "nowhere"], "HOST:PORT"),
        (["charger", "--protocol", "iso15118-2"], "--cert and --key"),
        (["charger", "--protocol", "din", "--basic-auth-file", "pyproject.toml"], "are for --csms"),
    ],
)
def test_usage_errors_exit_2_with_one_line(pnc: Pnc, args: list[str], message: str) -> None:
    root = Path(__file__).resolve().parents[2]
    args = [str(root / a) if a == "pyproject.toml" else a for a in args]
    result = pnc("sim", *args, ok=False)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
