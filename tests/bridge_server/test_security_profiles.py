"""Security profiles over real TLS: Basic Auth (1), TLS + Basic Auth (2), mutual TLS with a
charging-station certificate of the home (3); refusals are HTTP answers before the upgrade."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from harness import BridgeFactory, basic, charger, run, server_certificate, with_client_certificate
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from pki.ca import CaService
from pki.profiles import ProfileName, Role
from pnc.core.stations import StationRegistry

PASSWORD = "charger-password-0001"


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path, ssl.SSLContext]:
    return server_certificate(tmp_path)


@pytest.fixture
def registry(service: CaService) -> StationRegistry:
    registry = StationRegistry.of(service)
    registry.add("CS-P1", 1, PASSWORD)
    registry.add("CS-P2", 2, PASSWORD)
    registry.add("CS-P3", 3)
    return registry


def station_context(
    service: CaService, base: ssl.SSLContext, directory: Path, cn: str, profile: ProfileName
) -> Any:
    issued = service.issue_leaf(Role.CHARGING_STATION, cn, profile=profile)
    return with_client_certificate(
        base, directory, issued.certificate, issued.chain, issued.private_key, cn
    ), issued


async def attempt(
    url: str, *, headers: dict[str, str] | None = None, ctx: ssl.SSLContext | None = None
) -> int:
    """101 when the websocket opens (and a Heartbeat is answered), else the HTTP status."""
    options: dict[str, Any] = {"ssl": ctx} if ctx is not None else {}
    try:
        async with connect(
            url, subprotocols=["ocpp2.0.1"], additional_headers=headers or {}, **options
        ) as ws:
            await ws.send('[2,"1","Heartbeat",{}]')
            assert (await ws.recv()).startswith('[3,"1"')
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_profile_1_and_2_over_plain_and_tls(
    bridge: BridgeFactory, service: CaService, registry: StationRegistry, tls: Any
) -> None:
    cert, key, client = tls

    async def plain(b: Any) -> dict[str, int]:
        return {
            "p1 right password": await attempt(b.url("CS-P1"), headers=basic("CS-P1", PASSWORD)),
            "p1 wrong password": await attempt(b.url("CS-P1"), headers=basic("CS-P1", PASSWORD + "x")),
            "p1 no password": await attempt(b.url("CS-P1")),
            "p1 another user": await attempt(b.url("CS-P1"), headers=basic("CS-P2", PASSWORD)),
            "p2 over plain ws": await attempt(b.url("CS-P2"), headers=basic("CS-P2", PASSWORD)),
            "p3 over plain ws": await attempt(b.url("CS-P3")),
            "unknown station": await attempt(b.url("CS-NEW"), headers=basic("CS-NEW", PASSWORD)),
            "invalid identity": await attempt(b.url("CS%3A1")),
        }

    with bridge() as b:
        assert run(plain(b)) == {
            "p1 right password": 101,
            "p1 wrong password": 401,
            "p1 no password": 401,
            "p1 another user": 401,
            "p2 over plain ws": 403,
            "p3 over plain ws": 403,
            "unknown station": 401,
            "invalid identity": 404,
        }
        refused = b.ctx.metrics.connections_refused
        assert refused.value("tls-required") == 2 and refused.value("credentials-wrong") == 2

    async def over_tls(b: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "p2 right password": await attempt(b.url("CS-P2"), headers=basic("CS-P2", PASSWORD), ctx=client),
            "p2 wrong password": await attempt(
                b.url("CS-P2"), headers=basic("CS-P2", "nope-nope-nope-nope"), ctx=client
            ),
        }
        async with charger(b.url("CS-P1"), password=PASSWORD, ssl_context=client) as (cp, _ws):
            await cp.call(call.Heartbeat())
            out["p1 over tls counts as"] = b.ctx.connections.connected()[0].security_profile
        return out

    with bridge(tls_cert=cert, tls_key=key) as b:
        assert run(over_tls(b)) == {
            "p2 right password": 101,
            "p2 wrong password": 401,
            "p1 over tls counts as": 2,
        }


def test_the_refusal_says_why(bridge: BridgeFactory, registry: StationRegistry) -> None:
    async def scenario(b: Any) -> tuple[Any, Any]:
        with pytest.raises(InvalidStatus) as tls_needed:
            async with connect(
                b.url("CS-P2"), subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-P2", PASSWORD)
            ):
                pass
        with pytest.raises(InvalidStatus) as unauthorized:
            async with connect(b.url("CS-P1"), subprotocols=["ocpp2.0.1"]):
                pass
        return tls_needed.value.response, unauthorized.value.response

    with bridge() as b:
        tls_needed, unauthorized = run(scenario(b))
    assert b"registered for security profile 2: connect over TLS" in tls_needed.body
    assert unauthorized.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("profile", [ProfileName.ISO15118_2, ProfileName.ISO15118_20])
def test_profile_3_mutual_tls(
    bridge: BridgeFactory,
    service: CaService,
    registry: StationRegistry,
    tls: Any,
    tmp_path: Path,
    profile: ProfileName,
) -> None:
    cert, key, client = tls
    good, _ = station_context(service, client, tmp_path, "CS-P3", profile)
    other, _ = station_context(service, client, tmp_path, "CS-OTHER", profile)
    revoked_ctx, revoked = station_context(service, client, tmp_path, "CS-P3", profile)
    service.revoke(revoked.serial, "keyCompromise")

    async def scenario(b: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "own certificate": await attempt(b.url("CS-P3"), ctx=good),
            "no certificate": await attempt(b.url("CS-P3"), ctx=client),
            "another station's certificate": await attempt(b.url("CS-P3"), ctx=other),
            "revoked certificate": await attempt(b.url("CS-P3"), ctx=revoked_ctx),
            "a password instead": await attempt(b.url("CS-P3"), headers=basic("CS-P3", PASSWORD), ctx=client),
        }
        async with charger(b.url("CS-P3"), ssl_context=good) as (cp, _ws):
            await cp.call(call.Heartbeat())
            out["connected with"] = b.ctx.connections.connected()[0].security_profile
        return out

    with bridge(tls_cert=cert, tls_key=key) as b:
        assert run(scenario(b)) == {
            "own certificate": 101,
            "no certificate": 403,
            "another station's certificate": 403,
            "revoked certificate": 403,
            "a password instead": 403,
            "connected with": 3,
        }


def test_a_client_certificate_of_another_ca_fails_the_handshake(
    bridge: BridgeFactory, registry: StationRegistry, tls: Any, tmp_path: Path
) -> None:
    cert, key, client = tls
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CS-P3")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Somebody's CA")]))
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives import serialization

    foreign = with_client_certificate(
        client, tmp_path, leaf.public_bytes(serialization.Encoding.DER), (), leaf_key, "foreign"
    )

    async def scenario(b: Any) -> None:
        # TLS 1.3: the server refuses the certificate after the client finished its handshake, so the
        # client sees the connection drop before the HTTP answer
        with pytest.raises((ssl.SSLError, OSError, InvalidHandshake)):
            async with connect(b.url("CS-P3"), subprotocols=["ocpp2.0.1"], ssl=foreign) as ws:
                await ws.send('[2,"1","Heartbeat",{}]')
                await ws.recv()

    with bridge(tls_cert=cert, tls_key=key) as b:
        run(scenario(b))


def test_unknown_stations_when_allowed(bridge: BridgeFactory, registry: StationRegistry) -> None:
    async def scenario(b: Any) -> tuple[int, int]:
        return await attempt(b.url("CS-NEW")), await attempt(b.url("CS-P1"))

    with bridge(allow_unknown_stations=True) as b:
        # the unknown one needs nothing; a registered one still needs its password
        assert run(scenario(b)) == (101, 401)
