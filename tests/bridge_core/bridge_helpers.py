"""Helpers of the bridge-core tests: homes, contract chains as PEM, a foreign PKI with a real OCSP
responder over HTTP, payload builders."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ops_helpers import PASSPHRASE, fast_kdf
from sqlalchemy import text

from pki.ca import CaService, IssuedCertificate
from pki.certid import CertId
from pki.home import Home as PkiHome
from pki.profiles import ProfileName, Role
from pki.store.models import Base
from pnc.core.bridge import BridgeCore, BridgeSettings

T = TypeVar("T")
EMAID = "DE8AACA2B3C4D5L"  # with its check character
EMAID_2 = "DEPNCA00000001B"


def pem(*ders: bytes) -> str:
    out = []
    for der in ders:
        body = base64.encodebytes(der).decode("ascii").replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        out.append("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
    return "".join(out)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def authorize_payload(
    emaid: str = EMAID, certificate: str | None = None, hash_data: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"idToken": {"idToken": emaid, "type": "eMAID"}}
    if certificate is not None:
        payload["certificate"] = certificate
    if hash_data is not None:
        payload["iso15118CertificateHashData"] = hash_data
    return payload


def hash_entry(cert: bytes, issuer: bytes, url: str, algorithm: str = "SHA256") -> dict[str, str]:
    return {**CertId.of(cert, issuer, algorithm).to_ocpp(), "responderURL": url}


def pair(answer: dict[str, Any]) -> tuple[str | None, str]:
    """(certificateStatus, idTokenInfo.status) of an AuthorizeResponse."""
    return answer.get("certificateStatus"), answer["idTokenInfo"]["status"]


class Home:
    """A CA home with its service; ``core()`` makes BridgeCores on it (closed with the home)."""

    def __init__(self, path: Path, db_url: str | None = None) -> None:
        self.path = path
        self.db_url = db_url
        self.service = self.make_service()
        self._closing: list[Callable[[], None]] = []

    def make_service(self, clock: Callable[[], dt.datetime] | None = None) -> CaService:
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return CaService(
            PkiHome(self.path), db_url=self.db_url, passphrase=PASSPHRASE.encode, actor="test-bridge", **extra
        )

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path, db_url: str | None = None) -> Iterator[Home]:
        home = cls(path, db_url)
        try:
            yield home
        finally:
            home.close()

    @classmethod
    @contextlib.contextmanager
    def create(cls, path: Path, db_url: str | None = None, org: str = "Test CA") -> Iterator[Home]:
        service = CaService(PkiHome(path), db_url=db_url, passphrase=PASSPHRASE.encode, actor="test-bridge")
        with fast_kdf(), service:
            service.init(ProfileName.ISO15118_2, organization=org, ocsp_url="http://127.0.0.1:1/ocsp")
        with cls.open(path, db_url) as home:
            yield home

    def close(self) -> None:
        for close in reversed(self._closing):
            close()
        self.service.close()

    def core(self, settings: BridgeSettings | None = None, **kwargs: Any) -> BridgeCore:
        core = BridgeCore(self.service, settings or BridgeSettings(), **kwargs)
        self._closing.append(core.close)
        return core

    def core_at(self, when: dt.datetime, settings: BridgeSettings | None = None, **kwargs: Any) -> BridgeCore:
        """A core whose clock stands at ``when`` (its own CA service on the same home and store)."""
        service = self.make_service(lambda: when)
        core = BridgeCore(service, settings or BridgeSettings(), **kwargs)
        self._closing.append(service.close)
        self._closing.append(core.close)
        return core

    def contract(
        self,
        emaid: str = EMAID,
        profile: ProfileName = ProfileName.ISO15118_2,
        *,
        issued_at: dt.datetime | None = None,
        validity_days: int | None = None,
    ) -> IssuedCertificate:
        service = self.service if issued_at is None else self.make_service(lambda: issued_at)
        try:
            return service.issue_leaf(Role.CONTRACT, emaid, profile=profile, validity_days=validity_days)
        finally:
            if service is not self.service:
                service.close()

    def ca_der(self, role: Role, profile: ProfileName = ProfileName.ISO15118_2) -> bytes:
        return self.service.ca_record(role.value, profile).certificate_der

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.service.store.engine.connect() as conn:
            for name in sorted(Base.metadata.tables):
                if name != "audit_log":
                    out[name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]
        return out

    def audit_actions(self) -> list[str]:
        return [e.action for e in self.service.store.audit_entries()]


def chain_pem(issued: IssuedCertificate) -> str:
    return pem(issued.certificate, *issued.chain)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ForeignPki:
    """Another organisation's home whose certificates name ``ocsp_url``, served by a real OCSP
    responder (pnc.ocsp_http under uvicorn) in a thread of this process."""

    home: Home
    ocsp_url: str
    server: Any

    @classmethod
    @contextlib.contextmanager
    def start(cls, base: Path) -> Iterator[ForeignPki]:
        import uvicorn

        from pki.responder import OcspResponder
        from pnc.ocsp_http import OcspApp

        port = free_port()
        url = f"http://127.0.0.1:{port}/ocsp"
        service = CaService(PkiHome(base / "home"), passphrase=PASSPHRASE.encode, actor="foreign-ca")
        with fast_kdf(), service:
            service.init(ProfileName.ISO15118_2, organization="Foreign MO", ocsp_url=url)
        home = Home(base / "home")
        responder = OcspResponder.from_service(home.service)
        app = OcspApp(responder, path_prefix="/ocsp")
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("the foreign OCSP responder did not start")
            time.sleep(0.05)
        try:
            yield cls(home, url, server)
        finally:
            server.should_exit = True
            thread.join(10)
            home.close()

    def contract(self, emaid: str, **kwargs: Any) -> IssuedCertificate:
        return self.home.contract(emaid, **kwargs)

    def roots(self) -> tuple[bytes, ...]:
        return (self.home.ca_der(Role.MO_ROOT), self.home.ca_der(Role.V2G_ROOT))


SECC_ID = "DEICES" + "0123456789ABCDEF0123456789ABCDEF"
EVSE_ID = "DE*ICE*E45B*78C"
ORG = "Test CA"  # the organisation of the template home


def make_csr(
    cn: str,
    *,
    o: str | None = ORG,
    c: str | None = "DE",
    dc: str | None = "CPO",
    curve: Any = None,
    key: Any = None,
) -> str:
    """A PEM CSR with the given subject, signed with a fresh key (P-256 unless ``curve``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if key is None:
        key = ec.generate_private_key(curve or ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if o is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if c is not None:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, c))
    if dc is not None:
        attributes.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, dc))
    algorithm = hashes.SHA512() if isinstance(curve, ec.SECP521R1) else hashes.SHA256()
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, algorithm)
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


class Station:
    """The test's charging station: answers CertificateSigned as told and records what it got."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)  # each: a dict to answer, or an exception to raise
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def deliver(self, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.received.append((station_id, payload))
        answer = self.answers.pop(0) if self.answers else {"status": "Accepted"}
        if isinstance(answer, BaseException):
            raise answer
        return dict(answer)


class BlackHole:
    """A TCP server on loopback that accepts connections and never answers (a hung responder)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/ocsp"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


class RedirectFetcher:
    """The real HTTP fetcher, sending every request to ``target`` instead (to aim certificates
    whose AIA names one responder at a misbehaving one); counts the fetches."""

    def __init__(self, target: str | None = None) -> None:
        from pnc.core.ocsp_client import HttpOcspFetcher

        self.inner = HttpOcspFetcher()
        self.target = target
        self.urls: list[str] = []

    async def fetch(self, url: str, request_der: bytes, timeout: float) -> bytes:
        self.urls.append(url)
        return await self.inner.fetch(self.target or url, request_der, timeout)
