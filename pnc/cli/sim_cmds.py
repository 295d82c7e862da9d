"""``pnc sim ev`` and ``pnc sim charger``: either side of a V2G session alone, against a real peer
(another charger or EV, another CSMS, or ``pnc serve``).

Certificates and keys are PEM files, e.g. from ``pnc pki issue secc|oem-prov ... --insecure`` and
``pnc pki roots``; an encrypted key takes ``--key-passphrase-file``. A session's result is printed
as it ends (a table, or one JSON object per line with ``--format json``). ``pnc sim ev`` exits 0
when every session ended normally (SessionStop), 1 otherwise (refused, failed); ``pnc sim charger``
exits 0 once it has served its ``--sessions`` (whatever they came to) or was interrupted, 1 when
it cannot run (no CSMS, unusable certificates).
"""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

import click

from pnc.cli.common import format_option, render_table
from pnc.errors import UsageError

PROTOCOL_CHOICES = ["iso15118-2", "iso15118-20", "din"]
FAMILY = {"iso15118-2": "iso2", "iso15118-20": "iso20", "din": "din"}
EV_PROTOCOLS = {"iso2": ("iso2",), "iso20": ("iso20-dc",), "din": ("din",)}
EV_PROTOCOLS_AC = {"iso2": ("iso2",), "iso20": ("iso20-ac",)}
ENERGY_MODES = [
    "DC_extended",
    "DC_core",
    "DC_combo_core",
    "DC_unique",
    "AC_three_phase_core",
    "AC_single_phase_core",
]

existing_file = click.Path(dir_okay=False, exists=True, path_type=Path)


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{option} {text!r}: give HOST:PORT, e.g. 127.0.0.1:15118")
    return host.strip("[]"), int(port)


def _read_secret(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if not lines or not lines[0]:
        raise UsageError(f"{path}: the first line is empty")
    return lines[0].encode()


def _tls_default(family: str, tls: bool | None) -> bool:
    if tls is None:
        return family != "din"
    if tls and family == "din":
        raise UsageError("DIN SPEC 70121 runs on plain TCP: drop --tls")
    if not tls and family == "iso20":
        raise UsageError("ISO 15118-20 runs on TLS 1.3 only: drop --no-tls")
    return tls


@click.group("sim")
def sim() -> None:
    """EV and charger simulators (ISO 15118 over V2GTP, the charger with OCPP 2.0.1)."""


# -- the EV


@sim.command("ev")
@click.option("--host", default="127.0.0.1", show_default=True, help="The charger's address.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="The charger's V2G (TCP) port.")
@click.option(
    "--sdp", is_flag=True, help="Find the port with SDP (UDP --sdp-port at --host) instead of --port."
)
@click.option("--sdp-port", type=click.IntRange(1, 65535), default=15118, show_default=True)
@click.option("--protocol", type=click.Choice(PROTOCOL_CHOICES), default="iso15118-2", show_default=True)
@click.option("--tls/--no-tls", default=None, help="Default: TLS for ISO 15118, plain TCP for DIN.")
@click.option(
    "--trust", type=existing_file, help="V2G root(s) (PEM): the SECC's and the CPS chain's anchors."
)
@click.option("--prov-cert", type=existing_file, help="OEM provisioning certificate and sub-CAs (PEM).")
@click.option("--prov-key", type=existing_file, help="Its private key (PEM).")
@click.option("--key-passphrase-file", type=existing_file, help="First line: the passphrase of --prov-key.")
@click.option("--mo-root", type=existing_file, help="MO root(s) (PEM): the contract chain's anchors.")
@click.option(
    "--contract", type=existing_file, help="A contract the EV holds already: chain (PEM, leaf first)."
)
@click.option("--contract-key", type=existing_file, help="Its private key (PEM).")
@click.option(
    "--save-contract",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the contract the EV holds at the end to DIR/contract.pem and DIR/contract.key.",
)
@click.option(
    "--payment",
    type=click.Choice(["contract", "external"]),
    default=None,
    help="Plug & Charge (contract) or EIM (external); default: contract when --prov-cert is given.",
)
@click.option("--energy-mode", type=click.Choice(ENERGY_MODES), default="DC_extended", show_default=True)
@click.option(
    "--loops", type=click.IntRange(1, 100_000), default=5, show_default=True, help="Charge loop exchanges."
)
@click.option(
    "--sessions",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Sessions, one after the other.",
)
@click.option(
    "--wait",
    type=click.FloatRange(0, 600),
    default=30.0,
    show_default=True,
    help="Seconds to keep trying while the charger's port refuses connections.",
)
@format_option
def ev(
    *,
    host: str,
    port: int | None,
    sdp: bool,
    sdp_port: int,
    protocol: str,
    tls: bool | None,
    trust: Path | None,
    prov_cert: Path | None,
    prov_key: Path | None,
    key_passphrase_file: Path | None,
    mo_root: Path | None,
    contract: Path | None,
    contract_key: Path | None,
    save_contract: Path | None,
    payment: str | None,
    energy_mode: str,
    loops: int,
    sessions: int,
    wait: float,
    fmt: str,
) -> None:
    """Charge at a charger: SupportedAppProtocol, setup, (certificate installation,) authorization,
    the charge loop and SessionStop. A contract installed in one session is used in the next."""
    from pnc.sim.credentials import EvFiles, ev_credentials, load_contract
    from pnc.sim.credentials import save_contract as write_contract
    from pnc.sim.ev import EvSimulator
    from pnc.sim.transport import ev_context
    from v2g.session import EvPolicy

    family = FAMILY[protocol]
    use_tls = _tls_default(family, tls)
    if (port is None) == (not sdp):
        raise UsageError("give the charger's --port, or --sdp to discover it (not both)")
    if (prov_cert is None) != (prov_key is None):
        raise UsageError("--prov-cert and --prov-key go together")
    if payment is None:
        payment = "contract" if prov_cert is not None else "external"
    if payment == "contract" and family == "din":
        raise UsageError("DIN SPEC 70121 has no Plug & Charge: use --payment external")
    if payment == "contract" and (prov_cert is None or trust is None or mo_root is None):
        raise UsageError("Plug & Charge needs --prov-cert, --prov-key, --trust (V2G root) and --mo-root")
    if use_tls and trust is None:
        raise UsageError("TLS needs --trust: the V2G root(s) the charger's certificate chains to")
    if family == "iso20" and prov_cert is None:
        raise UsageError("ISO 15118-20 authenticates the EV in TLS: give --prov-cert and --prov-key")
    if (contract is None) != (contract_key is None):
        raise UsageError("--contract and --contract-key go together")
    if (contract is not None or save_contract is not None) and prov_cert is None:
        raise UsageError("--contract and --save-contract are for a Plug & Charge EV (--prov-cert)")
    password = _read_secret(key_passphrase_file)
    credentials = None
    if prov_cert is not None and prov_key is not None:
        assert trust is not None
        held = None
        if contract is not None and contract_key is not None:
            held = load_contract(contract, contract_key, key_password=password)
        credentials = ev_credentials(
            EvFiles(prov_cert, prov_key, trust, mo_root), key_password=password, contract=held
        )
    ac = energy_mode.startswith("AC")
    if ac and family == "din":
        raise UsageError("DIN SPEC 70121 is DC only")
    policy = EvPolicy(
        protocols=(EV_PROTOCOLS_AC if ac else EV_PROTOCOLS)[family],
        energy_mode=energy_mode,
        payment="Contract" if payment == "contract" else "ExternalPayment",
        credentials=credentials if payment == "contract" else None,
        stop_after_loops=loops,
    )
    context = None
    if use_tls:
        assert trust is not None
        context = ev_context(
            family,
            trust,
            certificate_chain=prov_cert if family == "iso20" else None,
            key=prov_key if family == "iso20" else None,
            key_password=password,
        )

    async def main() -> list[Any]:
        target_host, target_port = host, port
        if sdp:
            from pnc.sim.sdp import discover

            found = await discover(host, sdp_port, tls=use_tls)
            if found.tls != use_tls:
                raise UsageError(
                    f"SDP: the charger at {found.host}:{found.port} offers {'TLS' if found.tls else 'no TLS'}"
                )
            click.echo(f"SDP: the charger listens on {found.host}:{found.port}", err=True)
            target_host, target_port = found.host, found.port
        assert target_port is not None
        simulator = EvSimulator(target_host, target_port, policy, tls=context, connect_timeout=wait)
        out = []
        for _ in range(sessions):
            out.append(await simulator.charge())
            _print_ev(out[-1], fmt)
        return out

    reports = asyncio.run(main())
    if save_contract is not None and policy.contract is not None:
        chain, key_file = write_contract(policy.contract, save_contract)
        click.echo(f"contract {policy.contract.emaid}: {chain}, {key_file}", err=True)
    sys.exit(0 if all(r.outcome == "End" for r in reports) else 1)


def _print_ev(report: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.summary(), default=str))
        return
    tls = report.tls.summary() if report.tls else "plain TCP"
    click.echo(
        f"session at {report.address} ({tls}, {report.connect_seconds * 1000:.0f} ms): {report.protocol}"
    )
    rows = [
        {"request": e.request, "response": e.response_code, "ms": f"{e.seconds * 1000:.1f}"}
        for e in report.exchanges
    ]
    click.echo(render_table(rows, ["request", "response", "ms"]))
    facts = [
        f"outcome {report.outcome}" + (f" ({report.reason})" if report.outcome != "End" else ""),
        f"{report.loops} charge loops, {report.energy_wh:.2f} Wh",
    ]
    if report.installed_emaid:
        facts.append(f"contract {report.installed_emaid} installed")
    if report.authorized:
        facts.append(f"authorized ({report.authorized})")
    click.echo("; ".join(facts) + "\n")


# -- the charger


@sim.command("charger")
@click.option(
    "--listen",
    "listen",
    default="127.0.0.1:15118",
    show_default=True,
    help="HOST:PORT for EVs (port 0: any).",
)
@click.option("--protocol", type=click.Choice(PROTOCOL_CHOICES), default="iso15118-2", show_default=True)
@click.option("--tls/--no-tls", default=None, help="Default: TLS for ISO 15118, plain TCP for DIN.")
@click.option("--cert", type=existing_file, help="SECC certificate and CPO sub-CAs (PEM), for TLS.")
@click.option("--key", type=existing_file, help="Its private key (PEM).")
@click.option("--key-passphrase-file", type=existing_file, help="First line: the passphrase of --key.")
@click.option(
    "--oem-root", type=existing_file, help="ISO 15118-20: the OEM root(s) vehicle certificates chain to."
)
@click.option("--evse-id", default="DE*PNC*E00001", show_default=True)
@click.option(
    "--sdp", is_flag=True, help="Also answer SDP requests on UDP --sdp-port of the --listen address."
)
@click.option("--sdp-port", type=click.IntRange(1, 65535), default=15118, show_default=True)
@click.option(
    "--csms",
    default=None,
    metavar="URL",
    help="ws(s)://host:port/ocpp/STATION_ID; none: charge without a CSMS.",
)
@click.option(
    "--basic-auth-file",
    type=existing_file,
    help="First line: the station's Basic Auth password (profiles 1, 2).",
)
@click.option("--csms-ca", type=existing_file, help="wss://: the CSMS certificate's root(s) (PEM).")
@click.option(
    "--client-cert", type=existing_file, help="wss:// profile 3: the station's certificate and sub-CAs (PEM)."
)
@click.option("--client-key", type=existing_file, help="Its private key (PEM).")
@click.option(
    "--eim-token",
    default=None,
    metavar="ID[:TYPE]",
    help="EIM: the idToken Authorize sends (type default ISO14443); none: EIM charges for free.",
)
@click.option(
    "--sessions",
    type=click.IntRange(0, 100_000),
    default=0,
    show_default=True,
    help="Exit after this many sessions (0: run until interrupted).",
)
@click.option(
    "--wait",
    type=click.FloatRange(0, 600),
    default=30.0,
    show_default=True,
    help="Seconds to keep trying while the CSMS refuses connections.",
)
@format_option
def charger(
    *,
    listen: str,
    protocol: str,
    tls: bool | None,
    cert: Path | None,
    key: Path | None,
    key_passphrase_file: Path | None,
    oem_root: Path | None,
    evse_id: str,
    sdp: bool,
    sdp_port: int,
    csms: str | None,
    basic_auth_file: Path | None,
    csms_ca: Path | None,
    client_cert: Path | None,
    client_key: Path | None,
    eim_token: str | None,
    sessions: int,
    wait: float,
    fmt: str,
) -> None:
    """Wait for EVs; forward certificate requests and authorizations to the CSMS over OCPP 2.0.1."""
    from pnc.sim.charger import ChargerSettings, ChargerSimulator
    from pnc.sim.ocpp_client import CsmsClient, CsmsSettings
    from pnc.sim.transport import secc_context

    family = FAMILY[protocol]
    host, port = _host_port(listen, "--listen")
    use_tls = _tls_default(family, tls)
    if use_tls and (cert is None or key is None):
        raise UsageError("TLS needs --cert and --key (the SECC certificate)")
    if family == "iso20" and oem_root is None:
        raise UsageError("ISO 15118-20 authenticates the EV: give --oem-root")
    context = None
    if use_tls:
        assert cert is not None and key is not None
        context = secc_context(
            family, cert, key, client_roots=oem_root, key_password=_read_secret(key_passphrase_file)
        )
    token = None
    if eim_token is not None:
        ident, _, kind = eim_token.partition(":")
        token = (ident, kind or "ISO14443")
    client = None
    if csms is not None:
        client = CsmsClient(
            CsmsSettings(
                csms,
                password=_password(basic_auth_file),
                ssl_context=_csms_context(csms, csms_ca, client_cert, client_key),
                connect_timeout=wait,
            )
        )
    elif basic_auth_file or csms_ca or client_cert:
        raise UsageError("--basic-auth-file, --csms-ca and --client-cert are for --csms")
    simulator = ChargerSimulator(
        ChargerSettings(family=family, host=host, port=port, tls=context, evse_id=evse_id, eim_token=token),
        client,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await simulator.start()
        if sdp:
            await simulator.start_sdp(sdp_port)
        where = f"{host}:{simulator.port}" + (
            f" ({context and _tls_name(family)})" if context else " (plain TCP)"
        )
        via = f"; CSMS {csms}: BootNotification {client.boot_status}" if client is not None else "; no CSMS"
        sdp_text = f", SDP on UDP {host}:{sdp_port}" if sdp else ""
        click.echo(f"pnc sim charger: {protocol} on {where}{sdp_text}{via}", err=True)
        printed = 0
        try:
            while not stop.is_set() and (sessions == 0 or printed < sessions):
                waiter = asyncio.ensure_future(simulator.wait_sessions(printed + 1, 10**9))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not waiter.done():
                    waiter.cancel()
                    break
                for report in simulator.sessions[printed:]:
                    _print_charger(report, fmt)
                printed = len(simulator.sessions)
        finally:
            await simulator.stop()

    asyncio.run(main())


def _tls_name(family: str) -> str:
    return "TLS 1.3, mutual" if family == "iso20" else "TLS 1.2"


def _password(path: Path | None) -> str | None:
    secret = _read_secret(path)
    return secret.decode() if secret is not None else None


def _csms_context(url: str, ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if (cert is None) != (key is None):
        raise UsageError("--client-cert and --client-key go together")
    if not url.startswith("wss://"):
        if ca or cert:
            raise UsageError("--csms-ca and --client-cert need a wss:// CSMS URL")
        return None
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert is not None and key is not None:
        try:
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--client-cert {cert} / --client-key {key}: {exc}") from None
    return context


def _print_charger(report: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.summary(), default=str), nl=True)
        sys.stdout.flush()
        return
    tls = report.tls.summary() if report.tls else "plain TCP"
    auth = "/".join(s for s in (report.authorization or ()) if s) or "-"
    click.echo(
        f"session from {report.remote} ({tls}): {report.protocol}, {report.payment or '-'} {report.emaid or ''}; "
        f"installation {report.installation or '-'}; Authorize {auth}; {report.energy_wh:.2f} Wh; "
        f"outcome {report.outcome}" + (f" ({report.reason})" if report.outcome != "End" else "")
    )
    sys.stdout.flush()


__all__ = ["sim"]
