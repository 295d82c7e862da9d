"""Test helpers for pki/: whole hierarchies per profile, PEM files, openssl and pkilint runs.

Other test packages may import this module (``tests/pki`` on ``sys.path``, or by file location).
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization

from pki.algorithms import Algorithm, PrivateKey
from pki.certinfo import CertInfo, parse_certificate
from pki.issuance import IssueRequest, assemble_certificate, issue, new_serial
from pki.names import SubjectName
from pki.profiles import (
    CA_ROLES,
    ISSUER_OF,
    ProfileName,
    Role,
    default_algorithm,
    profile_for,
)
from pki.signer import SoftwareSigner

DATA = Path(__file__).resolve().parent / "data"
OCSP_URL = "http://ocsp.example.com/v2g"  # realistic length for the 800-byte limit

# Subject CNs of the leaves, valid under both profiles' identifier rules.
LEAF_COMMON_NAMES = {
    Role.SECC: "DE-ICE-S-00003C4D557878675645330967543476-2",
    Role.CPS_LEAF: "CPS Leaf 1",
    Role.CONTRACT: "DE8AACA2B3C4D5L",
    Role.OEM_PROV: "WMIV1234567890ABC",
    Role.CHARGING_STATION: "CS-BERLIN-0001",
}
CA_COMMON_NAMES = {
    Role.V2G_ROOT: "V2G Root CA",
    Role.CPO_SUB1: "CPO Sub-CA 1",
    Role.CPO_SUB2: "CPO Sub-CA 2",
    Role.CPS_SUB1: "CPS Sub-CA 1",
    Role.CPS_SUB2: "CPS Sub-CA 2",
    Role.MO_ROOT: "MO Root CA",
    Role.MO_SUB1: "MO Sub-CA 1",
    Role.MO_SUB2: "MO Sub-CA 2",
    Role.OEM_ROOT: "OEM Root CA",
    Role.OEM_SUB1: "OEM Sub-CA 1",
    Role.OEM_SUB2: "OEM Sub-CA 2",
    Role.CSO_ROOT: "CSO Root CA",
}
ORGANIZATION = "Example Charging GmbH"
COUNTRY = "DE"


@dataclass
class Entity:
    """A key pair with its certificate."""

    role: Role
    key: PrivateKey
    certificate: bytes

    @property
    def signer(self) -> SoftwareSigner:
        return SoftwareSigner(self.key)

    @property
    def info(self) -> CertInfo:
        return parse_certificate(self.certificate)


@dataclass
class Hierarchy:
    """Every CA of one profile, one leaf of each role, and a delegated OCSP responder per CA."""

    profile: ProfileName
    algorithm: Algorithm
    now: datetime
    entities: dict[Role, Entity] = field(default_factory=dict)
    responders: dict[Role, Entity] = field(default_factory=dict)

    def __getitem__(self, role: Role) -> Entity:
        return self.entities[role]

    def path(self, role: Role) -> list[Role]:
        """``role`` and its issuers up to and including the root."""
        roles = [role]
        while (issuer := ISSUER_OF[roles[-1]]) is not None:
            roles.append(issuer)
        return roles

    def chain(self, role: Role) -> list[bytes]:
        """The certificate of ``role`` followed by its sub-CAs (no root), as OCPP sends it."""
        return [self.entities[r].certificate for r in self.path(role)[:-1]]

    def root(self, role: Role) -> bytes:
        return self.entities[self.path(role)[-1]].certificate

    def roots(self) -> list[bytes]:
        return [e.certificate for r, e in self.entities.items() if ISSUER_OF.get(r, Role.V2G_ROOT) is None]


def subject_for(profile_name: ProfileName, role: Role, common_name: str | None = None) -> SubjectName:
    profile = profile_for(profile_name, role)
    cn = common_name or LEAF_COMMON_NAMES.get(role) or CA_COMMON_NAMES[role]
    organization = ORGANIZATION if role in (Role.V2G_ROOT, Role.SECC) else None
    country = COUNTRY if role in (Role.V2G_ROOT, Role.SECC) else None
    return profile.make_subject(cn, organization, country)


def issue_entity(
    profile_name: ProfileName,
    role: Role,
    issuer: Entity | None,
    algorithm: Algorithm,
    now: datetime,
    *,
    common_name: str | None = None,
    days: int | None = None,
) -> Entity:
    """A fresh key of ``algorithm`` and its certificate for ``role``."""
    profile = profile_for(profile_name, role)
    key = algorithm.generate()
    signer = SoftwareSigner(key)
    issuer_not_after = issuer.info.not_after if issuer is not None else None
    not_before, not_after = profile.validity(now, days, issuer_not_after=issuer_not_after)
    subject = subject_for(profile_name, role, common_name)
    request = IssueRequest(
        role=role,
        subject=subject,
        public_key_der=signer.public_key_der(),
        not_before=not_before,
        not_after=not_after,
        serial=new_serial(),
        ocsp_url=None if profile.is_root else OCSP_URL,
    )
    certificate = issue(
        request, profile, issuer.certificate if issuer else None, issuer.signer if issuer else signer
    )
    return Entity(role, key, certificate)


@cache
def hierarchy(profile_name: ProfileName, algorithm: Algorithm | None = None) -> Hierarchy:
    """The whole hierarchy of ``profile_name`` (cached per test process; treat it as read-only)."""
    algorithm = algorithm or default_algorithm(profile_name)
    now = datetime.now(UTC) - timedelta(hours=1)
    result = Hierarchy(profile_name, algorithm, now)
    for role in ISSUER_OF:  # dict order puts every issuer before what it issues
        issuer_role = ISSUER_OF[role]
        issuer = result.entities[issuer_role] if issuer_role is not None else None
        result.entities[role] = issue_entity(profile_name, role, issuer, algorithm, now)
    for ca_role in sorted(CA_ROLES):
        result.responders[ca_role] = issue_entity(
            profile_name,
            Role.OCSP_RESPONDER,
            result.entities[ca_role],
            algorithm,
            now,
            common_name=f"{CA_COMMON_NAMES[ca_role]} OCSP Responder",
        )
    return result


HIERARCHY_PARAMS = [
    (ProfileName.ISO15118_2, Algorithm.P256),
    (ProfileName.ISO15118_20, Algorithm.P521),
    (ProfileName.ISO15118_20, Algorithm.ED448),
]
# for @pytest.mark.parametrize(("name", "algorithm"), PROFILES): readable test IDs
PROFILES = [pytest.param(p, a, id=f"{p.value}-{a.value}") for p, a in HIERARCHY_PARAMS]


def pem(*ders: bytes, label: str = "CERTIFICATE") -> str:
    out = []
    for der in ders:
        body = base64.b64encode(der).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        out.append(f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n")
    return "".join(out)


def write_pem(path: Path, ders: Iterable[bytes], label: str = "CERTIFICATE") -> Path:
    path.write_text(pem(*ders, label=label))
    return path


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``openssl`` with ``args``; the result carries stdout and stderr as text."""
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def data_pem(name: str) -> list[bytes]:
    """The certificates of a PEM file under tests/pki/data (see PROVENANCE.md there)."""
    from pki.certinfo import load_pem_chain

    return load_pem_chain((DATA / name).read_text())


# --- pkilint -----------------------------------------------------------------------------------

# The two documented conflicts between the ISO 15118 profile and RFC 4519/5480 (pki-profiles.md):
# - DC=V2G / CPO / MO / OEM / CPS is not a DNS label; ISO 15118-2 Table F.2 demands these values
#   and relying parties must reject a leaf without them ([V2G2-925]).
# - ISO 15118-2 gives the contract certificate keyEncipherment with an EC key (Annex F), which
#   RFC 5480 §3 does not allow for id-ecPublicKey.
PROFILE_CONFLICTS = {
    "pkix.name_domain_components_invalid_domain_name": None,  # every certificate with a DC
    "pkix.key_usage_value_prohibited_for_ec": Role.CONTRACT,  # only the contract certificate
}
FAILING_SEVERITIES = frozenset({"FATAL", "ERROR", "WARNING", "NOTICE"})


def pkilint(tool: str, *args: str | Path) -> list[tuple[str, str, str]]:
    """Run a pkilint command in-process (``lint_pkix_cert lint -f JSON ...``): findings as
    (severity, code, node path), every severity included."""
    module = importlib.import_module(f"pkilint.bin.{tool}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["lint", "-f", "JSON", *map(str, args)])
    findings = []
    for result in json.loads(out.getvalue())["results"]:
        for finding in result["finding_descriptions"]:
            findings.append((finding["severity"], finding["code"], result["node_path"]))
    return findings


def failing_findings(
    findings: Sequence[tuple[str, str, str]], role: Role | None = None
) -> list[tuple[str, str, str]]:
    """The findings that count: severity NOTICE or worse, minus the documented profile conflicts."""
    failing = []
    for severity, code, node in findings:
        if severity not in FAILING_SEVERITIES:
            continue
        if code in PROFILE_CONFLICTS and PROFILE_CONFLICTS[code] in (None, role):
            continue
        failing.append((severity, code, node))
    return failing


def reencode_with_explicit_defaults(certificate: bytes, signer: SoftwareSigner) -> bytes:
    """The same certificate with basicConstraints cA FALSE written out explicitly (BER-style, as
    Hubject's QA contract certificates have it), re-signed by ``signer``."""
    cert = x509.Certificate.load(certificate)
    tbs = cert["tbs_certificate"]
    extensions = []
    for original in tbs["extensions"]:
        extension = original
        if original["extn_id"].native == "basic_constraints":
            extension = x509.Extension(
                {
                    "extn_id": "basic_constraints",
                    "critical": True,
                    # cA FALSE explicitly: 30 03 01 01 00; asn1crypto keeps loaded bytes as they are
                    "extn_value": x509.BasicConstraints.load(bytes.fromhex("3003010100")),
                }
            )
        extensions.append(extension)
    tbs["extensions"] = x509.Extensions(extensions)
    tbs_der = bytes(tbs.dump())  # not force=True: that would re-encode the explicit DEFAULT away
    return assemble_certificate(tbs_der, signer.algorithm, signer.sign(tbs_der))


def openssl_verify(
    directory: Path, root: bytes, chain: Sequence[bytes], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``openssl verify -x509_strict`` of ``chain[0]`` with ``chain[1:]`` as untrusted sub-CAs."""
    args: list[str | Path] = [
        "verify",
        "-x509_strict",
        *extra,
        "-CAfile",
        write_pem(directory / "root.pem", [root]),
    ]
    if len(chain) > 1:
        args += ["-untrusted", write_pem(directory / "untrusted.pem", chain[1:])]
    args.append(write_pem(directory / "leaf.pem", chain[:1]))
    return openssl(*args, check=False)


def craft_certificate(
    subject: SubjectName,
    key: PrivateKey,
    issuer: Entity | None,
    *,
    ca: bool | None = False,
    path_len: int | None = None,
    key_usage: dict[str, bool] | None = None,
    key_usage_critical: bool = True,
    extra: Sequence[tuple[cx509.ExtensionType, bool]] = (),
    days: int = 30,
) -> bytes:
    """A certificate our CA would refuse to make (to test validation), built by `cryptography`'s
    own builder. ``ca=None`` leaves basicConstraints out; ``issuer=None`` self-signs."""

    now = datetime.now(UTC) - timedelta(minutes=5)
    signing_key = issuer.key if issuer else key
    issuer_name = (
        cx509.load_der_x509_certificate(issuer.certificate).subject
        if issuer
        else cx509.Name.from_rfc4514_string(subject.rfc4514())
    )
    usage = {
        "digital_signature": True,
        "content_commitment": False,
        "key_encipherment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "key_cert_sign": bool(ca),
        "crl_sign": bool(ca),
        "encipher_only": False,
        "decipher_only": False,
    }
    usage.update(key_usage or {})
    builder = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name.from_rfc4514_string(subject.rfc4514()))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(new_serial())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(cx509.KeyUsage(**usage), critical=key_usage_critical)
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca is not None:
        builder = builder.add_extension(
            cx509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True
        )
    if issuer is not None:
        builder = builder.add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    digest = None if Algorithm.of_key(signing_key) is Algorithm.ED448 else Algorithm.of_key(signing_key).hash
    return builder.sign(signing_key, digest).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]
