"""``pnc serve``: the OCPP bridge service (OCPP 2.0.1 at /ocpp/{stationId}, REST at /v1, OCSP at
/ocsp, /healthz, Prometheus /metrics) under uvicorn, until SIGINT or SIGTERM.

The CA passphrase comes from ``--passphrase-file`` or ``$PNC_CA_PASSPHRASE``: the service signs
(contract certificates, charger certificates, OCSP responses) and loads the keys before it listens,
so a wrong passphrase stops it at once. One line on stderr says what listens where.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from pki.certinfo import load_pem_chain
from pki.errors import KeyStoreError, PkiError
from pki.keystore import passphrase_from_environment, read_passphrase_file
from pnc.cli.common import db_option, home_option
from pnc.errors import UsageError
from pnc.server.defaults import DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT, PNC_ACTIONS


def _passphrase(passphrase_file: Path | None) -> Callable[[], bytes]:
    def source() -> bytes:
        if passphrase_file is not None:
            return read_passphrase_file(passphrase_file)
        from_env = passphrase_from_environment()
        if from_env is None:
            raise KeyStoreError(
                "pnc serve needs the CA passphrase: set PNC_CA_PASSPHRASE or give --passphrase-file"
            )
        return from_env

    return source


def _trust_anchors(path: Path | None) -> tuple[bytes, ...]:
    if path is None:
        return ()
    try:
        return tuple(load_pem_chain(path.read_bytes()))
    except (OSError, PkiError) as exc:
        raise UsageError(f"--trust-anchors {path}: {exc}") from None


existing_file = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("serve")
@home_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--tls-cert", type=existing_file, default=None, help="Server certificate (PEM, with its chain): TLS only."
)
@click.option("--tls-key", type=existing_file, default=None, help="Key of --tls-cert (PEM, unencrypted).")
@click.option(
    "--client-ca",
    type=existing_file,
    default=None,
    help="More CAs (PEM) for profile-3 client certificates, besides the home's Charging Station CA.",
)
@click.option(
    "--upstream", default=None, metavar="URL", help="Proxy mode: relay chargers to URL/{stationId}."
)
@click.option(
    "--answer",
    "answers",
    multiple=True,
    metavar="ACTION",
    help=f"Proxy mode: a charger call the bridge answers itself (repeat; default: {', '.join(sorted(PNC_ACTIONS))}).",
)
@click.option(
    "--upstream-ca", type=existing_file, default=None, help="Trust anchors (PEM) for a wss:// upstream."
)
@click.option(
    "--allow-unknown-stations",
    is_flag=True,
    help="Accept stations `pnc stations add` does not know, without a password check.",
)
@click.option(
    "--require-registered-contract",
    is_flag=True,
    help="Authorize: unknown eMAIDs get ContractCancelled/Unknown.",
)
@click.option(
    "--ocsp-timeout",
    type=click.FloatRange(0.1, 60),
    default=3.0,
    show_default=True,
    help="Seconds per OCSP fetch.",
)
@click.option(
    "--ocsp-allowed-host",
    "ocsp_hosts",
    multiple=True,
    metavar="HOST",
    help="Only fetch OCSP from these hosts (repeat).",
)
@click.option(
    "--trust-anchors", type=existing_file, default=None, help="More MO/V2G roots (PEM), e.g. Hubject's."
)
@click.option(
    "--heartbeat-interval",
    type=click.IntRange(1, 86400),
    default=DEFAULT_HEARTBEAT_INTERVAL,
    show_default=True,
    help="Seconds, the interval of BootNotificationResponse (standalone mode).",
)
@click.option(
    "--max-frame-bytes",
    type=click.IntRange(1024, 16 * 1024 * 1024),
    default=DEFAULT_MAX_FRAME_BYTES,
    show_default=True,
    help="Longer OCPP messages get a CallError.",
)
@click.option(
    "--redis-url",
    envvar="PNC_REDIS_URL",
    default=None,
    help="Several processes: Redis routes calls (PNC_REDIS_URL).",
)
@click.option("--process-id", default=None, help="This process's name among several (default: host-pid).")
@click.option(
    "--passphrase-file",
    type=existing_file,
    default=None,
    help="File whose first line is the CA keys' passphrase (else PNC_CA_PASSPHRASE).",
)
def serve(
    *,
    home: Path,
    db_url: str | None,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    client_ca: Path | None,
    upstream: str | None,
    answers: tuple[str, ...],
    upstream_ca: Path | None,
    allow_unknown_stations: bool,
    require_registered_contract: bool,
    ocsp_timeout: float,
    ocsp_hosts: tuple[str, ...],
    trust_anchors: Path | None,
    heartbeat_interval: int,
    max_frame_bytes: int,
    redis_url: str | None,
    process_id: str | None,
    passphrase_file: Path | None,
) -> None:
    """Serve OCPP 2.0.1 Plug & Charge, the REST API and OCSP for the chargers of this home."""
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if client_ca is not None and tls_cert is None:
        raise UsageError("--client-ca needs TLS (--tls-cert and --tls-key)")
    if upstream is not None and not upstream.startswith(("ws://", "wss://")):
        raise UsageError(f"--upstream {upstream!r}: give a ws:// or wss:// URL")
    if (answers or upstream_ca is not None) and upstream is None:
        raise UsageError("--answer and --upstream-ca are for proxy mode (--upstream)")
    from pki.ca import CaService
    from pki.home import Home
    from pnc.core.bridge import BridgeSettings
    from pnc.server.ocpp.v201 import CHARGER_ACTIONS
    from pnc.server.settings import ServeSettings, default_process_id

    unknown = sorted(set(answers) - CHARGER_ACTIONS)
    if unknown:
        raise UsageError(f"--answer {unknown[0]}: not a call a charging station sends")
    settings = ServeSettings(
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        upstream=upstream,
        upstream_actions=frozenset(answers) if answers else PNC_ACTIONS,
        upstream_ca=upstream_ca,
        allow_unknown_stations=allow_unknown_stations,
        heartbeat_interval=heartbeat_interval,
        max_frame_bytes=max_frame_bytes,
        db_url=db_url,
        redis_url=redis_url,
        process_id=process_id or default_process_id(),
        bridge=BridgeSettings(
            require_registered_contract=require_registered_contract,
            ocsp_timeout=ocsp_timeout,
            ocsp_allowed_hosts=frozenset(ocsp_hosts) if ocsp_hosts else None,
            extra_trust_anchors=_trust_anchors(trust_anchors),
        ),
    )
    import uvicorn

    from pnc.server.app import create_app
    from pnc.server.runner import ssl_context, uvicorn_config

    service = CaService(Home(home), db_url=db_url, passphrase=_passphrase(passphrase_file), actor="pnc-serve")
    try:
        context = ssl_context(service, settings)
        app = create_app(service, settings)
        app.state.ocsp.load()  # the responder keys: a wrong passphrase stops here
        app.state.ctx.core.unlock_signing_keys()  # no key derivation inside an EV's budget
        scheme = "wss" if context is not None else "ws"
        mode = f", proxy to {upstream}" if upstream else ""
        click.echo(
            f"pnc bridge {settings.process_id}: {scheme}://{host}:{port}/ocpp/{{stationId}} (ocpp2.0.1){mode}, "
            f"REST /v1, OCSP /ocsp, /healthz, /metrics",
            err=True,
        )
        server = uvicorn.Server(uvicorn_config(app, settings, context))
        server.run()
    finally:
        service.close()
    if not getattr(server, "started", False):
        sys.exit(1)


__all__ = ["serve"]
