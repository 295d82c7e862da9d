"""``pnc demo``: the whole Plug & Charge journey on loopback, every step checked and timed.

In one process: a fresh home (SQLite) with a new PKI, the bridge (``pnc serve``'s application under
uvicorn, in a thread), a charger simulator connected to it over OCPP 2.0.1 and listening for EVs
over V2GTP (TLS 1.2 for ISO 15118-2, TLS 1.3 with mutual authentication for -20, plain TCP for DIN),
and an EV simulator that holds an OEM provisioning certificate. The journey:

1. the key ceremony of the protocol's PKI profile (encrypted CA keys: a few seconds);
2. the registrations: the charging station (security profile 1, a Basic Auth password), the
   contract of the EV's PCID, the SECC certificate of the charger and the EV's OEM provisioning
   certificate;
3. the bridge starts; 4. the charger boots (BootNotification, StatusNotification);
5. the first session: TLS, SupportedAppProtocol, setup, certificate installation through OCPP
   (Get15118EVCertificate), authorization with the new contract certificate (OCPP Authorize with
   the chain), a short charge loop with its TransactionEvents, SessionStop;
6. the contract certificate is revoked (``CaService.revoke``) and the bridge's OCSP responder says
   so; 7. a second session: the same EV authorizes with the revoked certificate and is refused.

DIN SPEC 70121 knows no Plug & Charge: its journey authorizes externally (EIM, the charger sends
the contract's eMAID as its idToken), and step 6 blocks the contract in the registry instead.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from pki.ca import CaService
from pki.ceremony import entity_name
from pki.contracts import ContractRegistry
from pki.errors import PkiError
from pki.home import Home
from pki.profiles import Role
from pnc.core.stations import StationRegistry
from pnc.errors import PncError
from pnc.server.settings import ServeSettings
from pnc.sim.bridge_host import BridgeHost, bound_socket
from pnc.sim.charger import REFUSALS, ChargerSessionReport, ChargerSettings, ChargerSimulator
from pnc.sim.credentials import PROFILE_OF, EvFiles, SeccFiles, ev_credentials, issue_ev, issue_secc
from pnc.sim.errors import SimError
from pnc.sim.ev import EvSessionReport, EvSimulator
from pnc.sim.ocpp_client import CsmsClient, CsmsSettings, OcppCall
from pnc.sim.steps import DemoReport, Step
from pnc.sim.transport import TLS12_CIPHERS, ev_context, secc_context
from v2g.errors import V2GError
from v2g.session import EvPolicy

#: ``--protocol`` -> protocol family
PROTOCOLS = {"iso15118-2": "iso2", "iso15118-20": "iso20", "din": "din"}
EV_PROTOCOLS = {"iso2": ("iso2",), "iso20": ("iso20-dc",), "din": ("din",)}
NAMESPACES = {
    "iso2": "urn:iso:15118:2:2013:MsgDef",
    "iso20": "urn:iso:std:iso:15118:-20:DC",
    "din": "urn:din:70121:2012:MsgDef",
}
STATION_ID = "CS-DEMO-1"
PCID = "WMIV1234567890ABC1"
EMAID = "DE8AACA2B3C4D5L"
SECC_IDS = {"iso2": "DE*PNC*E00001", "iso20": "DEPNCS" + "0" * 31 + "1"}
EVSE_ID = "DE*PNC*E00001"
ORGANIZATION = "PnC Demo"
SESSION_TIMEOUT = 60.0

Progress = Callable[[str], None]


@dataclass
class _Parts:
    """What the journey started (stopped in reverse order)."""

    service: CaService
    bridge: BridgeHost | None = None
    charger: ChargerSimulator | None = None
    ev: EvSimulator | None = None
    ev_files: EvFiles | None = None


class Journey:
    """One run of the demo (see the module docstring)."""

    def __init__(
        self, protocol: str, home: Path, *, progress: Progress | None = None, loops: int = 5
    ) -> None:
        if protocol not in PROTOCOLS:
            raise SimError(f"unknown protocol {protocol!r}: use {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.family = PROTOCOLS[protocol]
        self.pnc = self.family != "din"
        self.home = home
        self.loops = loops
        self._progress = progress or (lambda _line: None)
        self.report = DemoReport(protocol, self.pnc, str(home))
        self._passphrase = secrets.token_urlsafe(24).encode()  # this run's CA keys only
        self._station_password = secrets.token_urlsafe(18)
        self.parts: _Parts | None = None
        self._secc_files: SeccFiles | None = None

    # -- plumbing

    @contextlib.contextmanager
    def _step(self, name: str, expected: str) -> Iterator[Step]:
        step = Step(name, expected)
        self._progress(f"{len(self.report.steps) + 1:>2}. {name} ...")
        started = time.perf_counter()
        try:
            yield step
        except Exception as exc:
            step.observed = step.observed or f"{type(exc).__name__}: {exc}"
            step.ok = False
            raise
        finally:
            step.seconds = time.perf_counter() - started
            self.report.steps.append(step)

    def _add(self, step: Step) -> None:
        self._progress(f"{len(self.report.steps) + 1:>2}. {step.name}")
        self.report.steps.append(step)

    async def run(self) -> DemoReport:
        if self.home.exists() and any(self.home.iterdir()):
            raise SimError(f"the demo needs a new or empty home; {self.home} is not empty")
        service = CaService(Home(self.home), passphrase=lambda: self._passphrase, actor="pnc-demo")
        parts = self.parts = _Parts(service)
        try:
            await self._journey(parts)
        except (PncError, PkiError, V2GError, httpx.HTTPError, OSError) as exc:
            self.report.error = f"{type(exc).__name__}: {exc}"
        finally:
            if parts.charger is not None:
                await parts.charger.stop()
            if parts.bridge is not None:
                parts.bridge.stop()
            service.close()
        return self.report

    # -- the journey

    async def _journey(self, parts: _Parts) -> None:
        service = parts.service
        sock = bound_socket()
        host, port = sock.getsockname()[:2]
        ocsp_url = f"http://{host}:{port}/ocsp"
        profile = PROFILE_OF["iso2" if self.family == "din" else self.family]
        try:
            with self._step(
                f"PKI ceremony ({profile})",
                "V2G, CPO, CPS, MO, OEM and charging-station CAs with OCSP responders, keys encrypted",
            ) as step:
                lines: list[str] = []
                service.init(profile, organization=ORGANIZATION, ocsp_url=ocsp_url, progress=lines.append)
                cas = service.store.cas(profile.value)
                step.observed = f"{len(cas)} CAs and responders in {self.home} (OCSP {ocsp_url})"
                step.ok = len(cas) > 0
            self._register(parts, profile.value)
            with self._step(
                "Bridge starts (pnc serve)", "OCPP 2.0.1 at /ocpp/{stationId}, OCSP at /ocsp, REST at /v1"
            ) as step:
                parts.bridge = BridgeHost(service, ServeSettings(host=host, port=port), sock).start()
                if self.pnc:  # the keys an installation signs with, unlocked before the first EV
                    for role in (Role.MO_SUB2, Role.CPS_LEAF):
                        service.signer(entity_name(profile, role))
                step.observed = f"{parts.bridge.ocpp_url('{stationId}')}, {ocsp_url}"
                step.ok = True
        except BaseException:
            if parts.bridge is None:
                sock.close()
            raise
        await self._boot(parts)
        first, first_charger = await self._session(parts)
        self._first_session_steps(first, first_charger)
        await self._withdraw(parts)
        second, second_charger = await self._session(parts)
        self._refusal_step(second, second_charger)

    def _register(self, parts: _Parts, profile: str) -> None:
        service = parts.service
        expected = f"station {STATION_ID} (security profile 1), contract {EMAID} for PCID {PCID}"
        if self.pnc:
            expected += ", SECC certificate, OEM provisioning certificate"
        with self._step("Registrations", expected) as step:
            StationRegistry.of(service).add(STATION_ID, 1, self._station_password)
            ContractRegistry.of(service).add(EMAID, pcid=PCID)
            observed = [f"station {STATION_ID} (profile 1)", f"contract {EMAID} / {PCID}"]
            if self.pnc:
                sim = self.home / "sim"
                self._secc_files = issue_secc(service, self.family, SECC_IDS[self.family], sim / "charger")
                parts.ev_files = issue_ev(service, self.family, PCID, sim / "ev")
                observed += [
                    f"SECC certificate {SECC_IDS[self.family]} (serial {self._secc_files.serial})",
                    f"OEM provisioning certificate {PCID} (serial {parts.ev_files.serial})",
                ]
            step.observed = ", ".join(observed)
            step.ok = True

    async def _boot(self, parts: _Parts) -> None:
        assert parts.bridge is not None
        with self._step(
            "Charger boots",
            "self-test passes; OCPP: BootNotification Accepted, StatusNotification; SECC listening"
            + {"iso2": " (TLS 1.2)", "iso20": " (TLS 1.3, mutual)", "din": " (plain TCP)"}[self.family],
        ) as step:
            csms = CsmsClient(
                CsmsSettings(parts.bridge.ocpp_url(STATION_ID), password=self._station_password)
            )
            tls = None
            if self.pnc:
                files = self._secc_files
                assert files is not None
                tls = secc_context(self.family, files.chain, files.key, client_roots=files.oem_roots)
            charger = ChargerSimulator(
                ChargerSettings(
                    family=self.family,
                    tls=tls,
                    evse_id=EVSE_ID,
                    eim_token=None if self.pnc else (EMAID, "eMAID"),
                ),
                csms,
            )
            parts.charger = charger
            await charger.start()
            boot = csms.calls[0]
            step.observed = (
                f"self-test sessions in memory ({', '.join(charger.secc_config.protocols)}) "
                f"{(charger.self_test_seconds or 0) * 1000:.0f} ms; BootNotification {boot.result} "
                f"in {boot.seconds * 1000:.0f} ms; SECC at 127.0.0.1:{charger.port}"
            )
            step.ok = csms.boot_status == "Accepted"
        parts.ev = self._ev(charger.port, parts.ev_files)

    def _ev(self, port: int, files: EvFiles | None) -> EvSimulator:
        policy = EvPolicy(
            protocols=EV_PROTOCOLS[self.family],
            energy_mode="DC_extended",
            payment="Contract" if self.pnc else "ExternalPayment",
            credentials=ev_credentials(files) if files is not None else None,
            stop_after_loops=self.loops,
        )
        tls = None
        if files is not None:
            tls = ev_context(self.family, files.v2g_roots, certificate_chain=files.chain, key=files.key)
        return EvSimulator("127.0.0.1", port, policy, tls=tls)

    async def _session(self, parts: _Parts) -> tuple[EvSessionReport, ChargerSessionReport]:
        assert parts.ev is not None and parts.charger is not None
        done = len(parts.charger.sessions)
        self._progress("    EV plugged in: a V2G session ...")
        report = await parts.ev.charge()
        charger_report = (await parts.charger.wait_sessions(done + 1, SESSION_TIMEOUT))[done]
        return report, charger_report

    # -- the steps of the first session

    def _first_session_steps(self, ev: EvSessionReport, charger: ChargerSessionReport) -> None:
        details = {"ev": ev.summary(), "charger": charger.summary()}
        self._add(self._tls_step(ev, charger))
        name = {"iso2": "iso2", "iso20": "iso20-dc", "din": "din"}[self.family]
        self._add(
            Step(
                "SupportedAppProtocol",
                f"{NAMESPACES[self.family]} chosen",
                f"{ev.protocol} chosen" if ev.protocol else f"no protocol: {ev.reason}",
                ev.protocol == name,
                ev.phase_seconds("protocol"),
            )
        )
        setup = [e for e in ev.exchanges if e.phase == "setup"]
        self._add(
            Step(
                "Session setup",
                "SessionSetup, service discovery and selection answered OK"
                + (", certificate installation offered" if self.pnc else ""),
                ", ".join(f"{e.request[:-3]} {e.response_code}" for e in setup),
                bool(setup)
                and all(e.response_code.startswith("OK") for e in setup)
                and (not self.pnc or ev.certificate_installation_offered is True),
                ev.phase_seconds("setup"),
            )
        )
        if self.pnc:
            installed = ev.installed_emaid == EMAID and (charger.installation or "").startswith("Accepted")
            self._add(
                Step(
                    "Certificate installation",
                    f"CertificateInstallationReq -> OCPP Get15118EVCertificate -> contract certificate for {EMAID}, key decrypted by the EV",
                    f"Get15118EVCertificate {charger.installation}; EV installed {ev.installed_emaid}",
                    installed,
                    ev.phase_seconds("installation"),
                    {"ocpp": self._ocpp_calls("Get15118EVCertificate")},
                )
            )
        else:
            self._add(
                Step(
                    "Certificate installation",
                    "none: DIN SPEC 70121 is EIM only (no Plug & Charge)",
                    "skipped (EIM only)",
                    ev.installed_emaid is None and "CertificateInstallationReq" not in ev.requests(),
                )
            )
        self._add(self._authorization_step(ev, charger))
        transactions = [c.result for c in self._calls() if c.action == "TransactionEvent"]
        self._add(
            Step(
                "Charging",
                f"{self.loops} charge loops with energy flowing; TransactionEvent Started, Updated, Ended",
                f"{ev.loops} loops, {ev.energy_wh:.2f} Wh to the battery, meter {charger.energy_wh:.2f} Wh; "
                f"{len(transactions)} TransactionEvents",
                ev.loops >= self.loops and ev.energy_wh > 0 and len(transactions) == 3,
                ev.phase_seconds("preparation", "charging"),
                {"ocpp": self._ocpp_calls("TransactionEvent")},
            )
        )
        self._add(
            Step(
                "Session stop",
                "SessionStop: both sides end the session normally",
                f"EV {ev.outcome}, charger {charger.outcome}",
                ev.outcome == "End" and charger.outcome == "End",
                ev.phase_seconds("stop"),
                details,
            )
        )

    def _tls_step(self, ev: EvSessionReport, charger: ChargerSessionReport) -> Step:
        if self.family == "din":
            return Step(
                "Connection",
                "plain TCP (DIN SPEC 70121 has no TLS)",
                "plain TCP" if ev.tls is None else f"TLS {ev.tls.version}",
                ev.tls is None and charger.tls is None,
                ev.connect_seconds,
            )
        if self.family == "iso2":
            ok = ev.tls is not None and ev.tls.version == "TLSv1.2" and ev.tls.cipher == TLS12_CIPHERS
            return Step(
                "TLS handshake",
                f"TLS 1.2, {TLS12_CIPHERS}, the SECC's chain verified to the V2G root",
                f"{ev.tls.summary()}; SECC {_cn(ev.tls.peer_certificate)} verified to the V2G root"
                if ev.tls
                else "no TLS",
                ok,
                ev.connect_seconds,
            )
        assert self.ev_files_chain is not None
        client = charger.tls.peer_certificate if charger.tls else None
        ok = (
            ev.tls is not None
            and ev.tls.version == "TLSv1.3"
            and charger.tls is not None
            and client == self.ev_files_chain
        )
        return Step(
            "TLS handshake",
            "TLS 1.3 with mutual authentication: SECC chain to the V2G root, vehicle certificate to the OEM root",
            (f"{ev.tls.summary()}; SECC {_cn(ev.tls.peer_certificate)} verified" if ev.tls else "no TLS")
            + (f"; vehicle {_cn(client)} verified by the charger" if client == self.ev_files_chain else ""),
            ok,
            ev.connect_seconds,
        )

    @property
    def ev_files_chain(self) -> bytes | None:
        """The EV's OEM provisioning certificate (DER): what it presents under -20."""
        ev = self.parts.ev if self.parts is not None else None
        if ev is None or ev.policy.credentials is None:
            return None
        return bytes(ev.policy.credentials.oem_certificate)

    def _authorization_step(self, ev: EvSessionReport, charger: ChargerSessionReport) -> Step:
        if self.pnc:
            expected = (
                "OCPP Authorize with the contract chain: Accepted / Accepted; the EV is authorized (PnC)"
            )
            ok = charger.authorization == ("Accepted", "Accepted") and ev.authorized is not None
        else:
            expected = f"EIM: OCPP Authorize idToken {EMAID} (eMAID): Accepted; the EV is authorized"
            ok = charger.authorization == ("Accepted", None) and ev.authorized is not None
        status = "/".join(s for s in (charger.authorization or ()) if s) or "none"
        return Step(
            "Contract authorization" if self.pnc else "Authorization (EIM)",
            expected,
            f"Authorize {status}; EV authorized: {ev.authorized}",
            ok,
            ev.phase_seconds("authorization"),
            {"ocpp": self._ocpp_calls("Authorize")},
        )

    # -- revocation and refusal

    async def _withdraw(self, parts: _Parts) -> None:
        service = parts.service
        assert parts.bridge is not None
        if not self.pnc:
            with self._step(
                "Contract blocked", f"the registry lists {EMAID} as blocked (DIN: no certificate to revoke)"
            ) as step:
                record = ContractRegistry.of(service).block(EMAID)
                parts.bridge.core.forget_contract(EMAID)  # the change counts at once
                step.observed = f"{record.emaid}: {record.status.value}"
                step.ok = record.status.value == "blocked"
            return
        with self._step(
            "Revocation", "the contract certificate is revoked (keyCompromise); OCSP answers revoked"
        ) as step:
            record = ContractRegistry.of(service).get(EMAID)
            if record.certificate_serial is None:
                raise SimError(f"the registry names no certificate for {EMAID}")
            revoked = service.revoke(record.certificate_serial, "keyCompromise")
            status = await self._ocsp_status(parts)
            step.observed = f"serial {revoked.serial_hex} {revoked.status} ({revoked.reason}); OCSP at the bridge: {status}"
            step.ok = revoked.status == "revoked" and status == "revoked"

    async def _ocsp_status(self, parts: _Parts) -> str:
        """The contract certificate's status from the OCSP responder its AIA names (the bridge's)."""
        from pki.certinfo import parse_certificate
        from pki.ocsp import build_request, check_response

        assert parts.ev is not None and parts.ev.policy.contract is not None
        contract = parts.ev.policy.contract
        leaf, issuer = contract.certificate, contract.sub_certificates[0]
        url = parse_certificate(leaf).ocsp_urls[0]
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(
                url, content=build_request(leaf, issuer), headers={"Content-Type": "application/ocsp-request"}
            )
        response = check_response(answer.content, issuer, parts.service.clock())
        return str(response.statuses[0].cert_status)

    def _refusal_step(self, ev: EvSessionReport, charger: ChargerSessionReport) -> Step:
        if self.pnc:
            code = REFUSALS[self.family]["CertificateRevoked"]
            expected_pair: tuple[str, str | None] = ("Invalid", "CertificateRevoked")
            expected = f"OCPP Authorize: Invalid / CertificateRevoked; the EV gets {code}; no energy"
        else:
            code = REFUSALS["din"][None]
            expected_pair = ("Blocked", None)
            expected = f"OCPP Authorize: Blocked; the EV gets {code}; no energy"
        status = "/".join(s for s in (charger.authorization or ()) if s) or "none"
        step = Step(
            "Refused authorization",
            expected,
            f"Authorize {status}; EV: {ev.failed_request} {ev.failed_code}; {ev.energy_wh:.2f} Wh",
            charger.authorization == expected_pair
            and ev.failed_code == code
            and ev.energy_wh == 0
            and ev.installed_emaid is None,
            ev.seconds,
            {"ev": ev.summary(), "charger": charger.summary(), "ocpp": self._ocpp_calls("Authorize")[-1:]},
        )
        self._add(step)
        return step

    # -- OCPP records

    def _calls(self) -> list[OcppCall]:
        charger = self.parts.charger if self.parts is not None else None
        return list(charger.csms.calls) if charger is not None and charger.csms is not None else []

    def _ocpp_calls(self, action: str) -> list[dict[str, object]]:
        return [
            {"action": c.action, "request": c.request, "result": c.result, "ms": round(c.seconds * 1000, 1)}
            for c in self._calls()
            if c.action == action
        ]


def _cn(certificate: bytes | None) -> str:
    if certificate is None:
        return "(none)"
    from pki.certinfo import parse_certificate

    return parse_certificate(certificate).common_name or "(no CN)"


__all__ = ["EMAID", "NAMESPACES", "PCID", "PROTOCOLS", "STATION_ID", "Journey"]
