"""The test bench of the installation-service tests: a CA home, its CA service and installer,
vehicles with OEM provisioning (or contract) certificates, requests, and store snapshots."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ev_side
from ops_helpers import PASSPHRASE, fast_kdf
from sqlalchemy import text

import v2g
from pki.ca import CaService
from pki.certinfo import parse_certificate
from pki.contracts import ContractRegistry
from pki.home import Home
from pki.profiles import ProfileName, Role
from pki.store.models import Base
from pnc.core.install import ContractInstaller, InstallResult
from pnc.core.install_messages import ISO2_MSG_DEF, ISO20_COMMON_MESSAGES
from pnc.core.policy import ContractPolicy

PCID = "WMIV1234567890ABC1"
EMAID = "DE8AACA2B3C4D5L"
NAMESPACE = {"iso2": ISO2_MSG_DEF, "iso20-cm": ISO20_COMMON_MESSAGES}
PROFILE = {"iso2": ProfileName.ISO15118_2, "iso20-cm": ProfileName.ISO15118_20}


class Bench:
    def __init__(self, home: Path, db_url: str | None = None) -> None:
        self.home = home
        self.db_url = db_url
        self.service = self.make_service()
        self.installer = ContractInstaller(self.service)
        self.registry = ContractRegistry.of(self.service)
        self._shifted: CaService | None = None

    def make_service(self, clock: Callable[[], dt.datetime] | None = None) -> CaService:
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return CaService(
            Home(self.home), db_url=self.db_url, passphrase=PASSPHRASE.encode, actor="test-bridge", **extra
        )

    @classmethod
    @contextlib.contextmanager
    def open(cls, home: Path, db_url: str | None = None) -> Iterator[Bench]:
        bench = cls(home, db_url)
        try:
            yield bench
        finally:
            bench.service.close()
            if bench._shifted is not None:
                bench._shifted.close()

    @classmethod
    @contextlib.contextmanager
    def create(
        cls,
        home: Path,
        db_url: str | None = None,
        profiles: tuple[ProfileName, ...] = (ProfileName.ISO15118_2,),
    ) -> Iterator[Bench]:
        """A home whose PKI is made here (another organisation), its store at ``db_url``."""
        service = CaService(Home(home), db_url=db_url, passphrase=PASSPHRASE.encode, actor="test-bridge")
        with fast_kdf(), service:
            for profile in profiles:
                service.init(profile, organization="Other OEM", ocsp_url="http://127.0.0.1:1/ocsp")
        with cls.open(home, db_url) as bench:
            yield bench

    def shift_clock(self, by: dt.timedelta) -> ContractInstaller:
        """From now on the installer lives ``by`` later (its own CA service, same home and store)."""
        later = self.service.clock() + by
        self._shifted = self.make_service(lambda: later)
        self.installer = ContractInstaller(self._shifted)
        return self.installer

    def with_policy(self, policy: ContractPolicy) -> ContractInstaller:
        self.installer = ContractInstaller(self.service, policy=policy)
        return self.installer

    # -- vehicles and requests

    def vehicle(
        self,
        protocol: str = "iso2",
        pcid: str = PCID,
        *,
        issued_at: dt.datetime | None = None,
        validity_days: int | None = None,
    ) -> ev_side.Vehicle:
        """A vehicle with an OEM provisioning certificate of this home (issued at ``issued_at``)."""
        service = self.service if issued_at is None else self.make_service(lambda: issued_at)
        issued = service.issue_leaf(
            Role.OEM_PROV, pcid, profile=PROFILE[protocol], validity_days=validity_days
        )
        assert issued.private_key is not None
        chain = (issued.certificate,) if protocol == "iso2" else (issued.certificate, *issued.chain)
        return ev_side.Vehicle(issued.private_key, chain)  # type: ignore[arg-type]

    def root_ids(self, protocol: str = "iso2") -> list[tuple[str, int]]:
        """What an EV with this home's V2G and MO roots lists in ListOfRootCertificateIDs."""
        roots = self.service.roots(PROFILE[protocol])
        out = []
        for role in (Role.V2G_ROOT, Role.MO_ROOT):
            info = parse_certificate(roots[role])
            out.append((info.subject.rfc4514(), info.serial))
        return out

    def request(self, protocol: str, ev: ev_side.Vehicle, roots: list[tuple[str, int]] | None = None) -> Any:
        return ev_side.installation_request(protocol, ev, self.root_ids(protocol) if roots is None else roots)

    def install(self, message: Any, protocol: str = "iso2", action: str = "Install") -> InstallResult:
        data = message if isinstance(message, bytes) else v2g.encode(message)
        return self.installer.install_contract(data, NAMESPACE[protocol], action)

    # -- the store

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table but the audit log, and the number of audit entries."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.service.store.engine.connect() as conn:
            for name in sorted(Base.metadata.tables):
                if name != "audit_log":
                    out[name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]
        return out

    def audit_actions(self) -> list[str]:
        return [e.action for e in self.service.store.audit_entries()]
