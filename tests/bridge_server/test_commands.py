"""Bridge -> charger operations through a real charger: roots only for InstallCertificate, hash data
checked before DeleteCertificate, the charger's answers returned as they came."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from harness import BridgeFactory, charger, run
from ocpp.v201 import call

from pki.ca import CaService
from pki.profiles import ProfileName, Role
from pnc.core.stations import StationRegistry
from pnc.server import commands
from pnc.server.errors import CommandRefused

PASSWORD = "charger-password-0001"


def pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


@pytest.fixture
def station(service: CaService) -> str:
    StationRegistry.of(service).add("CS-1", 1, PASSWORD)
    return "CS-1"


def test_operations_reach_the_charger_and_refusals_send_nothing(
    bridge: BridgeFactory, service: CaService, station: str
) -> None:
    roots = service.roots(ProfileName.ISO15118_2)
    v2g_root = pem(roots[Role.V2G_ROOT])
    sub_ca = pem(service.ca_record("cpo-sub1", ProfileName.ISO15118_2).certificate_der)
    leaf = pem(service.issue_leaf(Role.SECC, "DE*PNC*E12345", profile=ProfileName.ISO15118_2).certificate)

    async def scenario(b: Any) -> dict[str, Any]:
        caller = b.ctx.connections
        out: dict[str, Any] = {}
        async with charger(b.url(station), password=PASSWORD) as (cp, _ws):
            await cp.call(call.Heartbeat())

            async def on_server(coro: Any) -> Any:
                return await b.on_server(coro)

            for name, certificate in (
                ("leaf", leaf),
                ("sub-CA", sub_ca),
                ("two", v2g_root + v2g_root),
                ("garbage", "x"),
            ):
                with pytest.raises(CommandRefused) as refused:
                    await on_server(
                        commands.install_certificate(caller, station, "V2GRootCertificate", certificate)
                    )
                out[f"install {name}"] = str(refused.value)
            with pytest.raises(CommandRefused, match="certificateType"):
                await on_server(
                    commands.install_certificate(caller, station, "ContractCertificate", v2g_root)
                )
            assert cp.received == []  # nothing went out
            out["install root"] = await on_server(
                commands.install_certificate(caller, station, "V2GRootCertificate", v2g_root)
            )
            assert cp.installed == [{"certificate_type": "V2GRootCertificate", "certificate": v2g_root}]

            root_hash = commands.hash_data(v2g_root)
            out["delete"] = await on_server(commands.delete_certificate(caller, station, root_hash))
            assert cp.received[-1] == (
                "DeleteCertificate",
                {
                    "hash_algorithm": "SHA256",
                    "issuer_name_hash": root_hash["issuerNameHash"],
                    "issuer_key_hash": root_hash["issuerKeyHash"],
                    "serial_number": root_hash["serialNumber"],
                },
            )
            for bad in (
                {**root_hash, "serialNumber": "0x1f"},
                {**root_hash, "issuerNameHash": "abc"},
                {**root_hash, "x": "1"},
            ):
                with pytest.raises(CommandRefused):
                    await on_server(commands.delete_certificate(caller, station, bad))
            out["ids"] = await on_server(
                commands.get_installed_certificate_ids(caller, station, ["V2GRootCertificate"])
            )
            with pytest.raises(CommandRefused, match="certificateType"):
                await on_server(commands.get_installed_certificate_ids(caller, station, ["Nope"]))
            out["trigger"] = await on_server(
                commands.trigger_message(caller, station, "SignV2GCertificate", evse_id=1)
            )
            with pytest.raises(CommandRefused, match="requestedMessage"):
                await on_server(commands.trigger_message(caller, station, "SignTheMoon"))
        return out

    with bridge() as b:
        out = run(scenario(b))
    assert "not by itself" in out["install leaf"]
    assert "not by itself" in out["install sub-CA"]
    assert "exactly one PEM certificate" in out["install two"]
    assert out["install root"] == {"status": "Accepted"}
    assert out["delete"] == {"status": "NotFound"}
    assert out["ids"]["certificateHashDataChain"][0]["certificateType"] == "V2GRootCertificate"
    assert out["trigger"] == {"status": "Accepted"}


def test_root_problems() -> None:
    import tempfile
    from pathlib import Path

    from harness import server_certificate  # a self-signed CA certificate without keyUsage

    with tempfile.TemporaryDirectory() as d:
        cert_file, _key, _ctx = server_certificate(Path(d))
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert commands.root_problem(cert) is None
