"""The simulators' certificates, from a home's PKI or from PEM files.

The charger needs its SECC certificate (CPO Sub-CA 2, CN = the SECC ID, or the EVSE ID under
ISO 15118-2) with the CPO sub-CAs and, for ISO 15118-20, the OEM roots that vehicle certificates
chain to. The EV needs its OEM provisioning certificate (OEM Sub-CA 2, CN = its PCID) with the OEM
sub-CAs and the key (it signs the CertificateInstallationReq, receives the contract key, and under
-20 authenticates the TLS connection), the V2G root (the SECC's chain and the CPS chain that signs
the installation response) and the MO root (the contract chain).

:func:`issue_secc` and :func:`issue_ev` issue them with the home's CA and write the PEM files
(keys unencrypted, mode 0600: give them a private directory); :func:`ev_credentials` reads the EV's
files into what :class:`v2g.session.EvPolicy` takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pki.algorithms import PrivateKey
from pki.ca import CaService
from pki.certinfo import load_pem_chain
from pki.errors import PkiError
from pki.profiles import ProfileName, Role
from pnc.sim.errors import SimError
from v2g.session import Contract, EvCredentials

#: The home profile whose PKI serves each protocol family (DIN has no PKI).
PROFILE_OF = {"iso2": ProfileName.ISO15118_2, "iso20": ProfileName.ISO15118_20}


@dataclass(frozen=True)
class SeccFiles:
    """The charger's TLS material (PEM files)."""

    chain: Path  # SECC certificate, CPO Sub-CA 2, CPO Sub-CA 1
    key: Path
    oem_roots: Path | None = None  # ISO 15118-20: the roots vehicle certificates chain to
    serial: str | None = None


@dataclass(frozen=True)
class EvFiles:
    """The EV's Plug & Charge material (PEM files)."""

    chain: Path  # OEM provisioning certificate, OEM Sub-CA 2, OEM Sub-CA 1
    key: Path
    v2g_roots: Path
    mo_roots: Path | None = None
    serial: str | None = None


def pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def _key_pem(key: PrivateKey | None) -> bytes:
    assert key is not None, "the CA generated this key"
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def issue_secc(service: CaService, family: str, secc_id: str, directory: Path) -> SeccFiles:
    """Issue an SECC certificate for ``secc_id`` and write ``secc.pem``, ``secc.key`` and, for
    ISO 15118-20, ``oem-roots.pem`` into ``directory``."""
    profile = PROFILE_OF[family]
    issued = service.issue_leaf(Role.SECC, secc_id, profile=profile)
    directory.mkdir(parents=True, exist_ok=True)
    chain = _write(directory / "secc.pem", issued.chain_pem())
    key = _write(directory / "secc.key", _key_pem(issued.private_key), private=True)
    oem = None
    if family == "iso20":
        oem = _write(directory / "oem-roots.pem", pem(service.roots(profile)[Role.OEM_ROOT]))
    return SeccFiles(chain, key, oem, issued.serial)


def issue_ev(service: CaService, family: str, pcid: str, directory: Path) -> EvFiles:
    """Issue an OEM provisioning certificate for ``pcid`` and write ``prov.pem``, ``prov.key``,
    ``v2g-root.pem`` and ``mo-root.pem`` into ``directory``."""
    profile = PROFILE_OF[family]
    issued = service.issue_leaf(Role.OEM_PROV, pcid, profile=profile)
    roots = service.roots(profile)
    directory.mkdir(parents=True, exist_ok=True)
    return EvFiles(
        chain=_write(directory / "prov.pem", issued.chain_pem()),
        key=_write(directory / "prov.key", _key_pem(issued.private_key), private=True),
        v2g_roots=_write(directory / "v2g-root.pem", pem(roots[Role.V2G_ROOT])),
        mo_roots=_write(directory / "mo-root.pem", pem(roots[Role.MO_ROOT])),
        serial=issued.serial,
    )


def read_chain(path: Path, what: str) -> list[bytes]:
    """The DER certificates of a PEM file."""
    try:
        return load_pem_chain(path.read_bytes())
    except (OSError, PkiError) as exc:
        raise SimError(f"{what} {path}: {exc}") from None


def read_key(path: Path, what: str, password: bytes | None = None) -> PrivateKey:
    """A PEM private key (PKCS#8 or SEC1, encrypted when ``password`` is given)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    except (OSError, ValueError, TypeError) as exc:
        raise SimError(f"{what} {path}: {exc}") from None
    from cryptography.hazmat.primitives.asymmetric import ec, ed448

    if not isinstance(key, ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey):
        raise SimError(f"{what} {path}: an ECDSA or Ed448 key is needed, not {type(key).__name__}")
    return key


def ev_credentials(
    files: EvFiles, *, key_password: bytes | None = None, contract: Contract | None = None
) -> EvCredentials:
    """The EV's :class:`~v2g.session.EvCredentials` from its files (and a contract it holds)."""
    chain = read_chain(files.chain, "OEM provisioning certificate")
    return EvCredentials(
        contract=contract,
        oem_certificate=chain[0],
        oem_key=read_key(files.key, "OEM provisioning key", key_password),
        oem_sub_certificates=tuple(chain[1:]),
        v2g_roots=tuple(read_chain(files.v2g_roots, "V2G roots")),
        mo_roots=tuple(read_chain(files.mo_roots, "MO roots")) if files.mo_roots is not None else (),
    )


def load_contract(chain: Path, key: Path, *, key_password: bytes | None = None) -> Contract:
    """A contract the EV already holds: its chain (PEM, leaf first, as ``pnc pki issue contract``
    writes it) and key; the eMAID is the leaf's CN."""
    from pki.certinfo import parse_certificate

    certificates = read_chain(chain, "contract certificate")
    emaid = parse_certificate(certificates[0]).common_name
    if not emaid:
        raise SimError(f"contract certificate {chain}: its subject has no CN (the eMAID)")
    return Contract(
        emaid, certificates[0], list(certificates[1:]), read_key(key, "contract key", key_password)
    )


def save_contract(contract: Any, directory: Path) -> tuple[Path, Path]:
    """Write an installed contract as ``contract.pem`` (leaf and sub-CAs) and ``contract.key``
    (PKCS#8, unencrypted, mode 0600) into ``directory``: a simulated EV's memory, for the next run."""
    key = contract.private_key
    if not hasattr(key, "private_bytes"):
        raise SimError(
            f"the contract key of {contract.emaid} ({type(key).__name__}) cannot be written as PEM"
        )
    directory.mkdir(parents=True, exist_ok=True)
    chain = _write(
        directory / "contract.pem",
        b"".join(pem(d) for d in (contract.certificate, *contract.sub_certificates)),
    )
    return chain, _write(directory / "contract.key", _key_pem(key), private=True)


__all__ = [
    "PROFILE_OF",
    "EvFiles",
    "SeccFiles",
    "ev_credentials",
    "issue_ev",
    "issue_secc",
    "load_contract",
    "pem",
    "read_chain",
    "read_key",
    "save_contract",
]
