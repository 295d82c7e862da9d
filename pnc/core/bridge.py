"""The bridge's use cases behind one facade: what the OCPP and REST adapters call.

Payloads are OCPP 2.0.1 JSON objects as plain dicts with the camelCase names of the OCPP JSON
schemas, exactly what goes on the wire; answers likewise. A payload the core cannot answer raises
:class:`pnc.core.errors.PayloadError` naming the field (the OCPP adapter answers a CallError, REST
HTTP 400); everything else is answered, never raised.

- :meth:`BridgeCore.authorize` - Authorize with a contract certificate or hash data
  (:mod:`pnc.core.authorize` has the status pairs and the revocation rules);
- :meth:`BridgeCore.get_15118_ev_certificate` - contract installation (:mod:`pnc.core.get_certificate`);
- :meth:`BridgeCore.get_certificate_status` - OCSP responses for chargers
  (:mod:`pnc.core.certificate_status`);
- :meth:`BridgeCore.sign_certificate` - SignCertificate: the CSR is checked at once, Accepted records
  sign jobs that :class:`pnc.core.signing.SignJobRunner` signs and delivers (:mod:`pnc.core.signing`).

One ``BridgeCore`` per process; its methods are coroutines for one event loop and safe to call
concurrently. Store and CPU work runs on a small thread pool (``worker_threads``), so the event
loop never waits for the database or a signature; the only network I/O is the OCSP fetcher.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pki.ca import CaService
from pki.profiles import Role
from pki.responder import OcspResponder
from pnc.core.authorize import Authorizer, AuthorizeResult
from pnc.core.certificate_status import CertificateStatusAnswer, CertificateStatusService
from pnc.core.get_certificate import (
    EXI_REQUEST_LIMIT_21,
    EXI_RESPONSE_LIMIT_201,
    EvCertificateAnswer,
    answer_ev_certificate,
    parse_ev_certificate_request,
)
from pnc.core.home_trust import HomeTrust, RevocationEpoch
from pnc.core.install import ContractInstaller
from pnc.core.ocsp_client import HttpOcspFetcher, OcspClient, OcspFetcher
from pnc.core.policy import load_policy
from pnc.core.signing import SignAnswer, SigningService

T = TypeVar("T")


@dataclass(frozen=True)
class BridgeSettings:
    require_registered_contract: bool = False  # design.md "Authorization policy"
    ocsp_timeout: float = 3.0  # seconds per foreign OCSP fetch
    ocsp_allowed_hosts: frozenset[str] | None = None  # None: any host; else only these (SSRF guard)
    extra_trust_anchors: tuple[bytes, ...] = ()  # DER roots (e.g. Hubject V2G/MO roots) besides the home's
    # DER sub-CAs of those PKIs (chaining to an anchor): Authorize with hash data and
    # GetCertificateStatus verify their OCSP answers with them
    extra_ca_certificates: tuple[bytes, ...] = ()
    sign_retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0)
    contract_cache_ttl: float = 2.0  # seconds a registry answer is reused by Authorize
    worker_threads: int = 4  # the pool for store and CPU work


DEFAULT_SETTINGS = BridgeSettings()


class BridgeCore:
    """The use cases of one home (see the module docstring)."""

    def __init__(
        self,
        service: CaService,
        settings: BridgeSettings = DEFAULT_SETTINGS,
        *,
        ocsp_fetcher: OcspFetcher | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, settings.worker_threads), thread_name_prefix="pnc-core"
        )
        self.installer = ContractInstaller(service, policy=load_policy(service.home.path))
        self.registry = self.installer.registry
        self.trust = HomeTrust(service, settings.extra_trust_anchors, settings.extra_ca_certificates)
        self.epoch = RevocationEpoch(service)
        self._own_fetcher = ocsp_fetcher is None
        self.fetcher: OcspFetcher = ocsp_fetcher if ocsp_fetcher is not None else HttpOcspFetcher()
        self.ocsp = OcspClient(
            self.fetcher,
            timeout=settings.ocsp_timeout,
            allowed_hosts=settings.ocsp_allowed_hosts,
            known=self.trust.known,
            clock=service.clock,
            offload=self.offload,
        )
        self.authorizer = Authorizer(
            trust=self.trust,
            store=service.store,
            registry=self.registry,
            ocsp=self.ocsp,
            epoch=self.epoch,
            clock=service.clock,
            offload=self.offload,
            require_registered_contract=settings.require_registered_contract,
            contract_cache_ttl=settings.contract_cache_ttl,
        )
        self._responder: OcspResponder | None = None
        self._responder_lock = threading.Lock()
        self.certificate_status = CertificateStatusService(
            trust=self.trust, ocsp=self.ocsp, responder=lambda: self.responder, offload=self.offload
        )
        self.signing = SigningService(service)
        self._sign_listeners: list[Callable[[tuple[int, ...]], None]] = []
        self._closed = False

    async def offload(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the core's thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    @property
    def responder(self) -> OcspResponder:
        """The home's OCSP responder (made on first use; loading its keys is audited). The server
        can mount the same one at /ocsp."""
        with self._responder_lock:
            if self._responder is None:
                self._responder = OcspResponder.from_service(self.service)
            return self._responder

    # -- charger -> bridge

    async def authorize(self, payload: dict[str, Any]) -> dict[str, Any]:
        """AuthorizeRequest -> AuthorizeResponse."""
        return (await self.authorize_result(payload)).payload()

    async def authorize_result(self, payload: dict[str, Any]) -> AuthorizeResult:
        """Authorize with the reason of the answer (for logs and the REST API)."""
        return await self.authorizer.authorize(payload)

    async def get_15118_ev_certificate(
        self,
        payload: dict[str, Any],
        *,
        exi_response_limit: int = EXI_RESPONSE_LIMIT_201,
        ocpp_version: str | None = None,
    ) -> dict[str, Any]:
        """Get15118EVCertificateRequest -> response; ``exi_response_limit`` 7500 for OCPP 2.0.1,
        17000 (``EXI_RESPONSE_LIMIT_21``) for 2.1; ``ocpp_version`` (of the charger) is audited."""
        answer = await self.ev_certificate_answer(
            payload, exi_response_limit=exi_response_limit, ocpp_version=ocpp_version
        )
        return answer.payload

    async def ev_certificate_answer(
        self,
        payload: dict[str, Any],
        *,
        exi_response_limit: int = EXI_RESPONSE_LIMIT_201,
        ocpp_version: str | None = None,
    ) -> EvCertificateAnswer:
        request = parse_ev_certificate_request(payload, exi_request_limit=EXI_REQUEST_LIMIT_21)
        return await self.offload(
            lambda: answer_ev_certificate(
                self.installer, request, exi_response_limit=exi_response_limit, ocpp_version=ocpp_version
            )
        )

    async def get_certificate_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        """GetCertificateStatusRequest -> response."""
        return (await self.certificate_status_answer(payload)).payload

    async def certificate_status_answer(self, payload: dict[str, Any]) -> CertificateStatusAnswer:
        return await self.certificate_status.answer(payload)

    async def sign_certificate(
        self, station_id: str, payload: dict[str, Any], *, ocpp_version: str | None = None
    ) -> dict[str, Any]:
        """SignCertificateRequest of ``station_id`` -> ``{"status": "Accepted"|"Rejected", ...}``;
        Accepted has recorded sign jobs (status pending) that the :class:`SignJobRunner` finishes.
        ``ocpp_version`` (of the charger) is audited."""
        return (await self.sign_answer(station_id, payload, ocpp_version=ocpp_version)).payload

    async def sign_answer(
        self, station_id: str, payload: dict[str, Any], *, ocpp_version: str | None = None
    ) -> SignAnswer:
        """SignCertificate with the jobs recorded (for the REST API)."""
        answer = await self.offload(
            lambda: self.signing.request(station_id, payload, ocpp_version=ocpp_version)
        )
        if answer.job_ids:
            for listener in self._sign_listeners:
                listener(answer.job_ids)
        return answer

    def add_sign_listener(self, listener: Callable[[tuple[int, ...]], None]) -> None:
        """Call ``listener(job_ids)`` on the event loop after each accepted SignCertificate."""
        self._sign_listeners.append(listener)

    def unlock_signing_keys(self) -> list[str]:
        """Load now the keys the bridge signs with (MO Sub-CA 2 and the CPS leaf for installations,
        CPO Sub-CA 2 and the charging-station CA for SignCertificate): the first installation then
        costs no key derivation (PBKDF2, about a second per key) inside the EV's 5-second budget,
        and a wrong passphrase stops the service at start. Returns the names unlocked."""
        wanted = {Role.MO_SUB2.value, Role.CPS_LEAF.value, Role.CPO_SUB2.value, Role.CSO_ROOT.value}
        names = [ca.name for ca in self.service.store.cas() if ca.role in wanted]
        for name in names:
            self.service.signer(name)
        return names

    def forget_contract(self, emaid: str | None = None) -> None:
        """Drop Authorize's cached registry answers for ``emaid`` (any spelling) or all: call after
        changing the registry for the change to count at once (else within contract_cache_ttl)."""
        self.authorizer.forget_contract(emaid)

    # -- lifecycle

    async def aclose(self) -> None:
        """:meth:`close` from inside the event loop (closes the OCSP client's connections first)."""
        if self._own_fetcher and isinstance(self.fetcher, HttpOcspFetcher):
            await self.fetcher.aclose()
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def close(self) -> None:
        """Stop the thread pool (after the running work) and drop the OCSP client's connections."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        if self._own_fetcher and isinstance(self.fetcher, HttpOcspFetcher):
            self.fetcher.close()


__all__ = ["DEFAULT_SETTINGS", "BridgeCore", "BridgeSettings"]
