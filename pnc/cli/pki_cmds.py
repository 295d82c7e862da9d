"""``pnc pki``: the V2G certificate authority on the command line (docs/pki.md).

Passphrase of the CA keys: ``--passphrase-file``, else ``$PNC_CA_PASSPHRASE``, else a prompt on a
terminal. A generated leaf key is written encrypted (``--key-passphrase-file``) or, only with
``--insecure``, in the clear. Refusals are one line on stderr with exit code 1; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pki.algorithms import Algorithm
from pki.ca import CaService, IssuedCertificate, parse_reason
from pki.ceremony import DEFAULT_COUNTRY, DEFAULT_OCSP_URL, DEFAULT_ORGANIZATION
from pki.errors import KeyStoreError
from pki.home import Home
from pki.hsm import DEFAULT_MODULE, PIN_ENV, HsmSettings
from pki.keystore import (
    encrypted_pkcs8,
    passphrase_from_environment,
    read_passphrase_file,
    unencrypted_pkcs8,
    write_private_file,
)
from pki.profiles import ProfileName, Role
from pki.store import CertificateRecord
from pnc.cli.common import db_option, emit, emit_one, format_option, home_option
from pnc.errors import PncError, UsageError

LIST_COLUMNS = ["serial", "role", "profile", "subject", "not_after", "status"]


class RefusedError(PncError):
    """The CLI refuses an operation by policy (exit code 1)."""


def _passphrase_source(passphrase_file: Path | None, *, confirm: bool = False) -> Callable[[], bytes]:
    def source() -> bytes:
        if passphrase_file is not None:
            return read_passphrase_file(passphrase_file)
        from_env = passphrase_from_environment()
        if from_env is not None:
            return from_env
        if not sys.stdin.isatty():
            raise KeyStoreError(
                "the CA keys need a passphrase: set PNC_CA_PASSPHRASE or give --passphrase-file"
            )
        value = click.prompt("CA key passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        if not value:
            raise KeyStoreError("an empty passphrase cannot protect a key")
        return str(value).encode()

    return source


def passphrase_option(f: Any) -> Any:
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="File whose first line is the CA keys' passphrase (else PNC_CA_PASSPHRASE, else a prompt).",
    )(f)


def profile_option(f: Any) -> Any:
    return click.option(
        "--profile",
        type=click.Choice([p.value for p in ProfileName]),
        default=None,
        help="Profile (default: iso15118-2 when the home has it, else its only profile).",
    )(f)


def _service(home: Path, db_url: str | None, passphrase_file: Path | None = None) -> CaService:
    return CaService(Home(home), db_url=db_url, passphrase=_passphrase_source(passphrase_file))


def _progress(line: str) -> None:
    click.echo(line, err=True)


@click.group("pki")
def pki() -> None:
    """The V2G certificate authority: ceremony, issuance, revocation, CRL, OCSP."""


@pki.command("init")
@home_option
@db_option
@click.option(
    "--profile", type=click.Choice([p.value for p in ProfileName]), default="iso15118-2", show_default=True
)
@click.option(
    "--algorithm",
    type=click.Choice([a.value for a in Algorithm]),
    default=None,
    help="Key algorithm (default: p256 for iso15118-2, p521 for iso15118-20).",
)
@click.option(
    "--org",
    "organization",
    default=DEFAULT_ORGANIZATION,
    show_default=True,
    help="Organisation (O) of the CAs.",
)
@click.option(
    "--country",
    default=DEFAULT_COUNTRY,
    show_default=True,
    help="Country (C) of the CAs, ISO 3166-1 alpha-2.",
)
@click.option(
    "--ocsp-url",
    default=DEFAULT_OCSP_URL,
    show_default=True,
    help="OCSP URL put into every certificate below a root.",
)
@passphrase_option
@click.option("--hsm", is_flag=True, help="Generate the keys in a PKCS#11 token instead of encrypted files.")
@click.option(
    "--hsm-module", default=DEFAULT_MODULE, show_default=True, help="PKCS#11 module (shared library)."
)
@click.option("--hsm-token", default=None, help="Label of the PKCS#11 token.")
@click.option(
    "--hsm-pin-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help=f"File with the token's user PIN (else {PIN_ENV}).",
)
@format_option
def init_cmd(
    *,
    home: Path,
    db_url: str | None,
    profile: str,
    algorithm: str | None,
    organization: str,
    country: str,
    ocsp_url: str | None,
    passphrase_file: Path | None,
    hsm: bool,
    hsm_module: str,
    hsm_token: str | None,
    hsm_pin_file: Path | None,
    fmt: str,
) -> None:
    """Create the whole V2G PKI hierarchy of a profile in the home (refuses to overwrite)."""
    settings: HsmSettings | None = None
    if hsm:
        if not hsm_token:
            raise UsageError("--hsm needs --hsm-token LABEL")
        settings = HsmSettings(
            module=hsm_module,
            token_label=hsm_token,
            pin_file=hsm_pin_file.resolve() if hsm_pin_file else None,
        )
        settings.pin()  # a missing PIN is refused before anything is created
    elif hsm_token or hsm_pin_file:
        raise UsageError("--hsm-token and --hsm-pin-file need --hsm")
    home_dir = Home(home)
    service = CaService(home_dir, db_url=db_url, passphrase=_passphrase_source(passphrase_file, confirm=True))
    with service:
        cas = service.init(
            ProfileName(profile),
            algorithm=Algorithm(algorithm) if algorithm else None,
            organization=organization,
            country=country,
            ocsp_url=ocsp_url,
            hsm=settings,
            db_url_to_record=Home.recordable_db_url(db_url),
            progress=_progress,
        )
    rows = [{"name": ca.name, "role": ca.role, "serial": ca.serial_hex, "key": ca.key_ref} for ca in cas]
    emit(rows, ["name", "role", "serial", "key"], fmt)


# -- issue


def _issue_options(f: Any) -> Any:
    options: list[Callable[[Any], Any]] = [
        home_option,
        db_option,
        profile_option,
        click.option(
            "--csr",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            help="Sign this CSR (PEM or DER); without it the CA generates the key pair.",
        ),
        click.option("--validity", type=click.IntRange(min=1), default=None, help="Validity in days."),
        click.option(
            "--out",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write the leaf followed by its sub-CAs (PEM, no root); default: stdout.",
        ),
        click.option(
            "--key-out",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write the generated private key (PKCS#8, encrypted with --key-passphrase-file).",
        ),
        click.option(
            "--key-passphrase-file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            help="File with the passphrase that encrypts --key-out.",
        ),
        click.option("--insecure", is_flag=True, help="Allow --key-out without encryption."),
        passphrase_option,
        format_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _issue(role: Role, identifier: str, options: dict[str, Any]) -> None:
    csr_path: Path | None = options["csr"]
    key_out: Path | None = options["key_out"]
    key_passphrase_file: Path | None = options["key_passphrase_file"]
    # Refusals before anything is issued: the store stays unchanged.
    if key_out is not None and csr_path is not None:
        raise UsageError(
            "--key-out is for a key the CA generates; with --csr the key stays with the requester"
        )
    if key_passphrase_file is not None and key_out is None:
        raise UsageError("--key-passphrase-file needs --key-out")
    key_passphrase = read_passphrase_file(key_passphrase_file) if key_passphrase_file else None
    if key_out is not None and key_passphrase is None and not options["insecure"]:
        raise RefusedError(
            "refusing to write an unencrypted private key: give --key-passphrase-file, or --insecure"
        )
    for target in (options["out"], key_out):
        if target is not None and target.exists():
            raise RefusedError(f"{target} exists; refusing to overwrite it")
    csr = None
    if csr_path is not None:
        try:
            csr = csr_path.read_bytes()
        except OSError as exc:
            raise RefusedError(f"{csr_path}: cannot read: {exc.strerror}") from None
    with _service(options["home"], options["db_url"], options["passphrase_file"]) as service:
        issued = service.issue_leaf(
            role, identifier, profile=options["profile"], csr=csr, validity_days=options["validity"]
        )
    _write_issued(issued, options["out"], key_out, key_passphrase, options["fmt"])


def _write_issued(
    issued: IssuedCertificate, out: Path | None, key_out: Path | None, key_passphrase: bytes | None, fmt: str
) -> None:
    pem = issued.chain_pem()
    if out is not None:
        out.write_bytes(pem)
    if key_out is not None and issued.private_key is not None:
        key_pem = (
            encrypted_pkcs8(issued.private_key, key_passphrase)
            if key_passphrase is not None
            else unencrypted_pkcs8(issued.private_key)
        )
        write_private_file(key_out, key_pem)
    elif issued.private_key is not None:
        click.echo("note: the generated private key was not saved (no --key-out)", err=True)
    record: dict[str, Any] = {
        "serial": issued.serial,
        "subject": issued.subject,
        "role": issued.role.value,
        "profile": issued.profile.value,
        "not_after": issued.not_after.isoformat(),
    }
    if fmt == "json":
        if out is None:
            record["pem"] = pem.decode()
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(f"serial  {issued.serial}")
    click.echo(f"subject {issued.subject}")
    if out is None:
        click.echo(pem.decode(), nl=False)


@pki.group("issue")
def issue_group() -> None:
    """Issue a leaf certificate (the CA generates the key, or signs --csr)."""


# (command, role, identifier option, its help, the command's help)
_LEAVES = [
    ("contract", Role.CONTRACT, "--emaid", "The eMAID (CN), e.g. DE-8AA-CA2B3C4D5-L.",
     "A contract certificate (MO Sub-CA 2), CN = eMAID."),
    ("secc", Role.SECC, "--secc-id", "The SECC ID (or, for ISO 15118-2, the EVSE ID) as CN.",
     "An SECC (charger TLS server) certificate (CPO Sub-CA 2)."),
    ("oem-prov", Role.OEM_PROV, "--pcid", "The provisioning certificate ID (CN).",
     "An OEM provisioning certificate (OEM Sub-CA 2), CN = PCID."),
    ("charging-station", Role.CHARGING_STATION, "--station-id", "The charging station's OCPP identity (CN).",
     "An OCPP client certificate of a charging station (charging-station CA)."),
]  # fmt: skip


def _issue_command(name: str, role: Role, flag: str, flag_help: str, doc: str) -> None:
    def command(identifier: str, **options: Any) -> None:
        _issue(role, identifier, options)

    command.__doc__ = doc
    issue_group.command(name)(
        click.option(flag, "identifier", required=True, help=flag_help)(_issue_options(command))
    )


for _spec in _LEAVES:
    _issue_command(*_spec)


# -- the rest


@pki.command("roots")
@home_option
@db_option
@profile_option
@click.option("--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def roots_cmd(home: Path, db_url: str | None, profile: str | None, out_dir: Path) -> None:
    """Write every root as <role>-root.pem (v2g, mo, oem, cso)."""
    with _service(home, db_url) as service:
        roots = service.roots(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    for role, der in sorted(roots.items()):
        path = out_dir / f"{role.value}.pem"
        path.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
        click.echo(str(path))


@pki.command("revoke")
@click.argument("serial")
@click.option(
    "--reason",
    required=True,
    help="RFC 5280 reason, e.g. keyCompromise, superseded, cessationOfOperation (kebab-case accepted).",
)
@home_option
@db_option
@format_option
def revoke_cmd(serial: str, reason: str, home: Path, db_url: str | None, fmt: str) -> None:
    """Revoke a certificate by its serial number (hex)."""
    why = parse_reason(reason)
    with _service(home, db_url) as service:
        record = service.revoke(serial, why)
    _emit_record(record, fmt)


@pki.command("crl")
@click.option(
    "--ca", "ca_name", required=True, help="CA role (e.g. mo-sub2) or full name (iso15118-20/mo-sub2)."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pem", is_flag=True, help="Write PEM instead of DER.")
@home_option
@db_option
@profile_option
@passphrase_option
def crl_cmd(
    *,
    ca_name: str,
    out: Path,
    pem: bool,
    home: Path,
    db_url: str | None,
    profile: str | None,
    passphrase_file: Path | None,
) -> None:
    """Publish a CRL of a CA (DER by default)."""
    with _service(home, db_url, passphrase_file) as service:
        der = service.crl(ca_name, profile=profile)
    if pem:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        out.write_bytes(x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM))
    else:
        out.write_bytes(der)
    click.echo(str(out))


@pki.command("list")
@click.option("--role", default=None, help="Only this role (e.g. contract, secc, mo-sub2).")
@click.option("--expiring", type=click.IntRange(min=0), default=None, help="Only those expiring within DAYS.")
@click.option("--revoked", is_flag=True, help="Only revoked certificates.")
@home_option
@db_option
@profile_option
@format_option
def list_cmd(
    *,
    role: str | None,
    expiring: int | None,
    revoked: bool,
    home: Path,
    db_url: str | None,
    profile: str | None,
    fmt: str,
) -> None:
    """List the certificates in the store."""
    with _service(home, db_url) as service:
        records = service.list_certificates(
            role=role, expiring_days=expiring, revoked=revoked, profile=profile
        )
    emit([r.summary() for r in records], LIST_COLUMNS, fmt)


@pki.command("show")
@click.argument("serial")
@click.option("--pem", is_flag=True, help="Print the certificate as PEM.")
@home_option
@db_option
@format_option
def show_cmd(serial: str, pem: bool, home: Path, db_url: str | None, fmt: str) -> None:
    """Show one certificate by its serial number (hex)."""
    with _service(home, db_url) as service:
        record = service.show(serial)
    if pem:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        click.echo(
            x509.load_der_x509_certificate(record.der).public_bytes(serialization.Encoding.PEM).decode(),
            nl=False,
        )
        return
    from pki.certinfo import parse_certificate

    info = parse_certificate(record.der)
    details = {
        "issuer_dn": info.issuer.rfc4514(),
        "key": info.key_algorithm.value if info.key_algorithm else None,
        "key_usage": ",".join(sorted(info.key_usage or ())) or None,
        "extended_key_usage": ",".join(info.extended_key_usage or ()) or None,
        "ocsp_url": ",".join(info.ocsp_urls) or None,
        "size": len(record.der),
        "sha256": info.fingerprint_sha256,
    }
    emit_one({**record.summary(), **details}, fmt)


def _emit_record(record: CertificateRecord, fmt: str) -> None:
    emit_one(record.summary(), fmt)


@pki.command("ocsp-serve")
@home_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(min=0, max=65535), required=True)
@passphrase_option
def ocsp_serve_cmd(
    home: Path, db_url: str | None, host: str, port: int, passphrase_file: Path | None
) -> None:
    """Answer OCSP requests (RFC 6960 POST, RFC 5019 GET) for every CA of the home."""
    import uvicorn

    from pki.responder import OcspResponder
    from pnc.ocsp_http import OcspApp

    service = _service(home, db_url, passphrase_file)
    responder = OcspResponder.from_service(service)
    app = OcspApp(responder, path_prefix=responder.path_prefix)
    click.echo(
        f"OCSP responder for {len(responder.issuers)} CAs on http://{host}:{port}/ "
        f"(started {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')})",
        err=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        service.close()


__all__ = ["pki"]
