"""``pnc demo``: the journey for each protocol, every step's outcome checked; a journey whose
revocation does not happen fails; the command's exit code and JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pnc.sim.demo import EMAID, Journey, _Parts
from pnc.sim.errors import SimError
from pnc.sim.steps import DemoReport

PNC_STEPS = [
    "PKI ceremony",
    "Registrations",
    "Bridge starts (pnc serve)",
    "Charger boots",
    "TLS handshake",
    "SupportedAppProtocol",
    "Session setup",
    "Certificate installation",
    "Contract authorization",
    "Charging",
    "Session stop",
    "Revocation",
    "Refused authorization",
]
DIN_STEPS = [
    *PNC_STEPS[:4],
    "Connection",
    *PNC_STEPS[5:8],
    "Authorization (EIM)",
    "Charging",
    "Session stop",
    "Contract blocked",
    "Refused authorization",
]


def run_journey(protocol: str, home: Path, journey: type[Journey] = Journey) -> DemoReport:
    lines: list[str] = []
    report = asyncio.run(journey(protocol, home, progress=lines.append, loops=3).run())
    assert lines and lines[0].strip().startswith("1. PKI ceremony")
    return report


def steps(report: DemoReport) -> dict[str, Any]:
    return {s.name.split(" (iso")[0]: s for s in report.steps}


@pytest.mark.parametrize("protocol", ["iso15118-2", "iso15118-20"])
def test_the_plug_and_charge_journey_does_every_step(protocol: str, tmp_path: Path) -> None:
    report = run_journey(protocol, tmp_path / "home")
    assert report.error is None
    assert [s.name.split(" (iso")[0] for s in report.steps] == PNC_STEPS
    failed = [(s.name, s.expected, s.observed) for s in report.steps if not s.ok]
    assert not failed
    assert report.ok and report.plug_and_charge
    by = steps(report)
    first = by["Session stop"].details
    assert first["ev"]["installed_emaid"] == EMAID and first["ev"]["loops"] == 3
    assert first["charger"]["authorization"] == ["Accepted", "Accepted"]
    assert first["charger"]["installation"].startswith("Accepted")
    if protocol == "iso15118-2":
        assert first["ev"]["tls"] == {"version": "TLSv1.2", "cipher": "ECDHE-ECDSA-AES128-SHA256"}
        assert not first["charger"]["client_certificate"]
    else:
        assert first["ev"]["tls"]["version"] == "TLSv1.3" and first["charger"]["client_certificate"]
    ocpp = by["Certificate installation"].details["ocpp"]
    assert [c["action"] for c in ocpp] == ["Get15118EVCertificate"] and ocpp[0]["result"].startswith(
        "Accepted"
    )
    assert [c["result"] for c in by["Charging"].details["ocpp"]] == ["ok", "ok", "ok"]
    assert "revoked" in by["Revocation"].observed and by["Revocation"].observed.endswith("revoked")
    second = by["Refused authorization"].details
    assert second["charger"]["authorization"] == ["Invalid", "CertificateRevoked"]
    code = "FAILED_CertificateRevoked" if protocol == "iso15118-2" else "WARNING_CertificateRevoked"
    assert second["ev"]["failed_code"] == code and second["ev"]["energy_wh"] == 0
    assert second["ev"]["installed_emaid"] is None  # the EV kept and used its contract
    assert all(s.seconds > 0 for s in report.steps if s.name != "Certificate installation")


def test_the_din_journey_authorizes_externally_and_is_refused_once_the_contract_is_blocked(
    tmp_path: Path,
) -> None:
    report = run_journey("din", tmp_path / "home")
    assert [s.name.split(" (iso")[0] for s in report.steps] == DIN_STEPS
    assert report.ok and not report.plug_and_charge, [(s.name, s.observed) for s in report.steps if not s.ok]
    by = steps(report)
    assert by["Connection"].observed == "plain TCP"
    assert by["Certificate installation"].observed == "skipped (EIM only)"
    assert by["Authorization (EIM)"].details["ocpp"][0]["request"] == f"eMAID {EMAID}"
    second = by["Refused authorization"].details
    assert second["charger"]["authorization"] == ["Blocked", None]
    assert (
        second["ev"]["failed_request"] == "ContractAuthenticationReq"
        and second["ev"]["failed_code"] == "FAILED"
    )


class WithoutRevocation(Journey):
    """A journey whose operator forgets to revoke: the EV must then charge again."""

    async def _withdraw(self, parts: _Parts) -> None:
        return None


def test_a_journey_whose_refusal_does_not_happen_fails(tmp_path: Path) -> None:
    report = run_journey("iso15118-2", tmp_path / "home", WithoutRevocation)
    assert not report.ok
    refused = report.steps[-1]
    assert refused.name == "Refused authorization" and not refused.ok
    assert refused.details["charger"]["authorization"] == ["Accepted", "Accepted"]
    assert [s.name for s in report.steps if not s.ok] == ["Refused authorization"]


def test_the_demo_refuses_a_home_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.json").write_text("{}")
    with pytest.raises(SimError, match="not empty"):
        asyncio.run(Journey("din", tmp_path / "home").run())
    assert (tmp_path / "home" / "config.json").read_text() == "{}"


@pytest.mark.slow
def test_pnc_demo_prints_one_json_document_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "pnc",
            "demo",
            "--protocol",
            "iso15118-2",
            "--json",
            "--home",
            str(tmp_path / "h"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    document = json.loads(process.stdout)
    assert document["ok"] is True and document["protocol"] == "iso15118-2"
    assert [s["ok"] for s in document["steps"]] == [True] * len(PNC_STEPS)
    assert "PKI ceremony" in process.stderr  # progress goes to stderr
    assert (tmp_path / "h" / "config.json").is_file()  # --home keeps the home


def test_pnc_demo_exits_1_with_the_table_when_the_home_is_taken(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "x").write_text("taken")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    process = subprocess.run(
        [sys.executable, "-m", "pnc", "demo", "--protocol", "din", "--home", str(tmp_path / "h")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert process.returncode == 1
    assert "not empty" in process.stdout + process.stderr


@pytest.mark.slow
def test_scripts_demo_runs_pnc_demo_in_its_environment(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    if not (Path(sys.prefix) / ".pnc-installed").is_file():
        pytest.skip("this interpreter's environment was not made by scripts/env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNC_")}
    env["PNC_VENV"] = sys.prefix
    process = subprocess.run(
        ["bash", str(root / "scripts" / "demo"), "--protocol", "din", "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    document = json.loads(process.stdout)
    assert document["ok"] and document["protocol"] == "din" and len(document["steps"]) == len(DIN_STEPS)
    assert not list(tmp_path.iterdir())  # the demo's home was temporary
