"""The key ceremony: ``pnc pki init`` creates the whole V2G PKI hierarchy of one profile.

For a profile it makes the V2G root, CPO and CPS Sub-CAs 1 and 2, the CPS leaf, the MO and OEM roots
with their Sub-CAs 1 and 2, the charging-station (CSO) CA, and a delegated OCSP responder under each
of the twelve CAs. Everything is generated and checked in memory first; then the keys are written
(encrypted files, O_EXCL and 0600, or generated in the PKCS#11 token while planning), then one
transaction stores every certificate, CA record and audit entry, then ``config.json`` makes the
profile visible. A failure removes the key files it wrote; nothing is ever overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pki.algorithms import Algorithm, PrivateKey
from pki.errors import AlreadyExistsError, KeyStoreError, PkiError
from pki.home import ProfileSettings
from pki.hsm import HsmSettings, Token
from pki.issuance import IssueRequest, issue, new_serial
from pki.keystore import load_signer, write_encrypted_key
from pki.profiles import CA_ROLES, ISSUER_OF, CertProfile, ProfileName, Role, default_algorithm, profile_for
from pki.signer import Signer, SoftwareSigner
from pki.store import CaRecord, serial_hex

if TYPE_CHECKING:
    from pki.ca import CaService

DEFAULT_OCSP_URL = "http://localhost:8080/ocsp"
DEFAULT_ORGANIZATION = "PnC Test PKI"
DEFAULT_COUNTRY = "DE"


def entity_name(profile: ProfileName | str, role: Role | str, *, responder: bool = False) -> str:
    """The store name of a CA (``iso15118-2/mo-sub2``) or of its OCSP responder (``.../ocsp``)."""
    return f"{profile}/{role}" + ("/ocsp" if responder else "")


# The order of the ceremony: every issuer before what it issues.
CEREMONY_ORDER: tuple[Role, ...] = (
    Role.V2G_ROOT,
    Role.CPO_SUB1,
    Role.CPO_SUB2,
    Role.CPS_SUB1,
    Role.CPS_SUB2,
    Role.CPS_LEAF,
    Role.MO_ROOT,
    Role.MO_SUB1,
    Role.MO_SUB2,
    Role.OEM_ROOT,
    Role.OEM_SUB1,
    Role.OEM_SUB2,
    Role.CSO_ROOT,
)
_CN = {
    Role.V2G_ROOT: "V2G Root CA",
    Role.CPO_SUB1: "CPO Sub-CA 1",
    Role.CPO_SUB2: "CPO Sub-CA 2",
    Role.CPS_SUB1: "CPS Sub-CA 1",
    Role.CPS_SUB2: "CPS Sub-CA 2",
    Role.CPS_LEAF: "CPS Leaf",
    Role.MO_ROOT: "MO Root CA",
    Role.MO_SUB1: "MO Sub-CA 1",
    Role.MO_SUB2: "MO Sub-CA 2",
    Role.OEM_ROOT: "OEM Root CA",
    Role.OEM_SUB1: "OEM Sub-CA 1",
    Role.OEM_SUB2: "OEM Sub-CA 2",
    Role.CSO_ROOT: "Charging Station CA",
}
_PROFILE_TAG = {ProfileName.ISO15118_2: "15118-2", ProfileName.ISO15118_20: "15118-20"}


def common_name(profile: ProfileName, role: Role) -> str:
    return f"{_CN[role]} {_PROFILE_TAG[profile]}"


@dataclass(frozen=True)
class _Planned:
    """One certificate of the ceremony, issued in memory, not yet stored."""

    name: str
    role: Role
    issuer_name: str | None
    key_ref: str
    certificate: bytes
    subject: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    key: PrivateKey | None  # None when the key lives in the HSM


def run_ceremony(
    service: CaService,
    profile: ProfileName,
    *,
    algorithm: Algorithm | None = None,
    organization: str = DEFAULT_ORGANIZATION,
    country: str = DEFAULT_COUNTRY,
    ocsp_url: str | None = None,
    hsm: HsmSettings | None = None,
    db_url_to_record: str | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[CaRecord]:
    """Create the whole hierarchy of ``profile`` (see docs/pki.md); refuses to overwrite."""
    config = service.home.load_or_new()
    service.adopt_config(config)
    if profile.value in config.profiles:
        raise AlreadyExistsError(
            f"profile {profile} is already initialised in {service.home.path}; refusing to overwrite it"
        )
    if hsm is not None and config.hsm is not None and config.hsm != hsm:
        raise KeyStoreError(f"{service.home.path} already keeps its keys in token {config.hsm.token_label!r}")
    hsm = hsm or config.hsm
    algorithm = algorithm or default_algorithm(profile)
    root_profile = profile_for(profile, Role.V2G_ROOT)
    if algorithm not in root_profile.algorithms:
        allowed = ", ".join(sorted(a.value for a in root_profile.algorithms))
        raise PkiError(f"{profile} does not allow {algorithm.value} keys; use one of: {allowed}")
    url = ocsp_url or DEFAULT_OCSP_URL
    if not url.startswith(("http://", "https://")):
        raise PkiError(f"--ocsp-url must be an http(s) URL, got {url!r}")
    # the organisation and country go into every CA subject: check them before anything is made
    root_profile.make_subject(common_name(profile, Role.V2G_ROOT), organization, country)
    if db_url_to_record and not config.db_url:
        config.db_url = db_url_to_record
    profile_keys = service.home.keys_dir / profile.value
    if profile_keys.is_dir() and any(profile_keys.iterdir()):
        raise AlreadyExistsError(f"{profile_keys} holds keys already; refusing to overwrite them")
    if hsm is None:
        service.passphrase()  # asked (or refused) before anything is created
        if any(service.home.keys_dir.rglob("*.key.pem")):
            _check_passphrase_matches_existing_keys(service)
    service.home.path.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = service.store
    if store.cas(profile.value):
        raise AlreadyExistsError(f"the store already holds CAs of profile {profile}; refusing to overwrite")

    progress(
        f"ceremony for {profile}: {algorithm.value} keys in {'token ' + hsm.token_label if hsm else 'encrypted files'}"
    )
    token = Token.from_settings(hsm) if hsm is not None else None
    if token is not None:
        config.hsm = hsm
    planned = _plan(
        service,
        profile=profile,
        algorithm=algorithm,
        organization=organization,
        country=country,
        ocsp_url=url,
        token=token,
        progress=progress,
    )

    # Write: key files (O_EXCL, 0600), then one transaction with every certificate, CA and audit
    # entry, then the configuration that makes the profile visible.
    written: list[Path] = []
    committed = False
    try:
        if token is None:
            passphrase = service.passphrase()
            service.home.keys_dir.mkdir(mode=0o700, exist_ok=True)
            for item in planned:
                assert item.key is not None
                path = service.home.path / item.key_ref.removeprefix("file:")
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_encrypted_key(path, item.key, passphrase)
                written.append(path)
        with store.transaction() as tx:
            ids: dict[str, int] = {}
            for item in planned:
                now = service.clock()
                cert_id = tx.add_certificate(
                    serial=item.serial,
                    issuer_ca_id=ids[item.issuer_name] if item.issuer_name else None,
                    profile=profile.value,
                    role=item.role.value,
                    subject=item.subject,
                    not_before=item.not_before,
                    not_after=item.not_after,
                    der=item.certificate,
                    issued_at=now,
                )
                ids[item.name] = tx.add_ca(
                    name=item.name,
                    profile=profile.value,
                    role=item.role.value,
                    certificate_id=cert_id,
                    key_ref=item.key_ref,
                    at=now,
                )
                service.audit(
                    tx,
                    "create-key",
                    subject=item.subject,
                    serial=item.serial,
                    details={"name": item.name, "key_ref": item.key_ref, "algorithm": algorithm.value},
                )
                service.audit(
                    tx,
                    "issue",
                    subject=item.subject,
                    serial=item.serial,
                    details={
                        "name": item.name,
                        "role": item.role.value,
                        "profile": profile.value,
                        "issuer": item.issuer_name or item.name,
                    },
                )
            service.audit(tx, "init", details={"profile": profile.value, "certificates": len(planned)})
        committed = True
        config.profiles[profile.value] = ProfileSettings(algorithm.value, organization, country, url)
        service.home.save(config)
    except BaseException:
        if not committed:  # once the store holds the CAs, their keys must stay
            for path in written:
                path.unlink(missing_ok=True)
        raise
    progress(f"{len(planned)} certificates stored; home {service.home.path} ready")
    return store.cas(profile.value)


def _check_passphrase_matches_existing_keys(service: CaService) -> None:
    existing = next(iter(sorted(service.home.keys_dir.rglob("*.key.pem"))))
    load_signer(existing, service.passphrase())  # KeyStoreError when the passphrase differs


def _plan(
    service: CaService,
    *,
    profile: ProfileName,
    algorithm: Algorithm,
    organization: str,
    country: str,
    ocsp_url: str,
    token: Token | None,
    progress: Callable[[str], None],
) -> list[_Planned]:
    planned: dict[str, _Planned] = {}
    signers: dict[str, Signer] = {}
    now = service.clock()

    def make(name: str, role: Role, cert_profile: CertProfile, cn: str, issuer: str | None) -> None:
        if token is not None:
            label = service.key_label(name)
            signer: Signer = token.generate(label, algorithm)
            key: PrivateKey | None = None
            key_ref = f"pkcs11:token={token.label};object={label}"
        else:
            key = algorithm.generate()
            signer = SoftwareSigner(key)
            path = service.home.key_path(profile.value, name.split("/", 1)[1].replace("/", "-"))
            key_ref = "file:" + str(path.relative_to(service.home.path))
        issuer_item = planned[issuer] if issuer else None
        subject = cert_profile.make_subject(cn, organization, country)
        not_before, not_after = cert_profile.validity(
            now, issuer_not_after=issuer_item.not_after if issuer_item else None
        )
        request = IssueRequest(
            role=role,
            subject=subject,
            public_key_der=signer.public_key_der(),
            not_before=not_before,
            not_after=not_after,
            serial=new_serial(),
            ocsp_url=ocsp_url if cert_profile.ocsp_url_required else None,
        )
        der = issue(
            request,
            cert_profile,
            issuer_item.certificate if issuer_item else None,
            signers[issuer] if issuer else signer,
        )
        planned[name] = _Planned(
            name=name,
            role=role,
            issuer_name=issuer,
            key_ref=key_ref,
            certificate=der,
            subject=subject.rfc4514(),
            serial=serial_hex(request.serial),
            not_before=not_before,
            not_after=not_after,
            key=key,
        )
        signers[name] = signer
        progress(f"  {name:<28} {subject.rfc4514()}")

    for role in CEREMONY_ORDER:
        issuer_role = ISSUER_OF[role]
        make(
            entity_name(profile, role),
            role,
            profile_for(profile, role),
            common_name(profile, role),
            entity_name(profile, issuer_role) if issuer_role else None,
        )
    responder_profile = profile_for(profile, Role.OCSP_RESPONDER)
    for role in CEREMONY_ORDER:
        if role in CA_ROLES:
            ca_name = entity_name(profile, role)
            make(
                entity_name(profile, role, responder=True),
                Role.OCSP_RESPONDER,
                responder_profile,
                f"{common_name(profile, role)} OCSP",
                ca_name,
            )
    return list(planned.values())
