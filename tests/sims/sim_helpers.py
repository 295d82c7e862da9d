"""Helpers of the simulator tests: credentials issued from the test home, a charger and an EV on
loopback, sessions run to their end."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

from pki.ca import CaService
from pnc.sim.charger import ChargerSessionReport, ChargerSettings, ChargerSimulator
from pnc.sim.credentials import EvFiles, SeccFiles, ev_credentials, issue_ev, issue_secc
from pnc.sim.ev import EvSessionReport, EvSimulator
from pnc.sim.ocpp_client import CsmsClient
from pnc.sim.transport import ev_context, secc_context
from v2g.session import EvPolicy

PCID = "WMIV1234567890ABC1"
EMAID = "DE8AACA2B3C4D5L"
SECC_IDS = {"iso2": "DE*PNC*E00001", "iso20": "DEPNCS" + "0" * 31 + "1", "din": ""}
EV_PROTOCOLS = {"iso2": ("iso2",), "iso20": ("iso20-dc",), "din": ("din",)}


@dataclass
class Material:
    secc: SeccFiles
    ev: EvFiles


def material(service: CaService, family: str, directory: Path) -> Material:
    return Material(
        issue_secc(service, family, SECC_IDS[family], directory / "charger"),
        issue_ev(service, family, PCID, directory / "ev"),
    )


def charger_tls(family: str, m: Material) -> ssl.SSLContext:
    return secc_context(family, m.secc.chain, m.secc.key, client_roots=m.secc.oem_roots)


def ev_tls(family: str, m: Material, *, with_certificate: bool = True) -> ssl.SSLContext:
    if with_certificate:
        return ev_context(family, m.ev.v2g_roots, certificate_chain=m.ev.chain, key=m.ev.key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cafile=str(m.ev.v2g_roots))
    return context


def policy(family: str, m: Material | None = None, *, pnc: bool = False, loops: int = 2) -> EvPolicy:
    return EvPolicy(
        protocols=EV_PROTOCOLS[family],
        payment="Contract" if pnc else "ExternalPayment",
        credentials=ev_credentials(m.ev) if (pnc and m is not None) else None,
        stop_after_loops=loops,
        loop_interval=0.02,
        retry_interval=0.02,
    )


async def one_session(
    charger: ChargerSimulator, ev: EvSimulator, timeout: float = 60
) -> tuple[EvSessionReport, ChargerSessionReport]:
    done = len(charger.sessions)
    report = await asyncio.wait_for(ev.charge(), timeout)
    charger_report = (await charger.wait_sessions(done + 1, timeout))[done]
    return report, charger_report


async def started(
    family: str, tls: ssl.SSLContext | None, csms: CsmsClient | None = None, **options: object
) -> ChargerSimulator:
    charger = ChargerSimulator(ChargerSettings(family=family, tls=tls, **options), csms)  # type: ignore[arg-type]
    await charger.start(self_test=False)
    return charger
