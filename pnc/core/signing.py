"""SignCertificate (OCPP 2.0.1 A02/A03) and the CertificateSigned that follows it.

:meth:`SigningService.request` answers the station at once: the CSR is checked
(:mod:`pnc.core.csr_checks`); ``Rejected`` (reasonCode ``InvalidCSR``) writes nothing but an audit
entry; ``Accepted`` records one sign job per certificate (:mod:`pnc.core.sign_jobs`) with its audit
entry in one transaction. Open jobs of the same station and certificate type are superseded by the
new request (a certificate already issued for one is revoked as superseded): a station that asks
again gets the certificate of its newest CSR only.

:class:`SignJobRunner` finishes the jobs: it issues the certificate through the CA service (CPO
Sub-CA 2 for a V2GCertificate, the charging-station CA for a ChargingStationCertificate; the job
becomes ``signed`` in the certificate's transaction), sends CertificateSigned through ``deliver``
with ``certificateChain`` = leaf, Sub-CA 2, Sub-CA 1 (never the root) as PEM, and records the
station's answer. A delivery that fails (timeout, CallError, anything but
:class:`~pnc.core.errors.StationOffline`) is retried after each of ``sign_retry_delays``; when the
last retry fails the job is ``failed``. A station that is not connected costs no attempt: the job
waits for :meth:`SignJobRunner.station_connected`. Open jobs survive restarts
(:meth:`SignJobRunner.resume`), and every ``sweep_interval`` seconds the runner picks up open jobs
another process left behind. Every step is audited (``sign-request``, ``sign-request-refused``,
``issue``, ``sign-delivered``, ``sign-rejected-by-station``, ``sign-attempt-failed``,
``sign-failed``, ``sign-superseded``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pki.ca import CaService
from pki.ceremony import entity_name
from pki.errors import PkiError
from pki.identifiers import validate_station_id
from pki.profiles import ISSUER_OF, ROOT_ROLES, Role
from pki.revocation import RevocationReason
from pnc.core.csr_checks import MAX_CSR_CHARS, CertificateType, CsrRefused, check_sign_request, order_for
from pnc.core.errors import PayloadError, StationOffline
from pnc.core.payloads import require_object, required_text, text_field
from pnc.core.sign_jobs import (
    DELIVERED,
    FAILED,
    PENDING,
    REJECTED,
    SIGNED,
    JobConflict,
    SignJobRecord,
    SignJobs,
)

if TYPE_CHECKING:
    from pnc.core.bridge import BridgeCore

log = logging.getLogger(__name__)

Deliver = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
DELIVERY_TIMEOUT = 120.0  # a deliver() that hangs longer counts as a failed attempt
SWEEP_INTERVAL = 60.0


@dataclass(frozen=True)
class SignAnswer:
    """The SignCertificateResponse and the jobs recorded (empty when Rejected)."""

    payload: dict[str, Any]
    job_ids: tuple[int, ...]
    detail: str


def pem_chain(ders: list[bytes]) -> str:
    out = []
    for der in ders:
        body = base64.b64encode(der).decode("ascii")
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        out.append(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
    return "".join(out)


class SigningService:
    """Sign requests and sign jobs of one home (sync: run from a worker thread)."""

    def __init__(self, service: CaService) -> None:
        self.service = service
        self.jobs = SignJobs(service.store)
        self._chains: dict[str, list[bytes]] = {}

    # -- SignCertificate

    def request(self, station_id: str, payload: Mapping[str, Any]) -> SignAnswer:
        try:
            station = validate_station_id(station_id)
        except PkiError as exc:
            raise PayloadError("stationId", str(exc)) from None
        body = require_object(payload)
        csr = required_text(body, "csr", max_length=MAX_CSR_CHARS)
        kind = text_field(
            body,
            "certificateType",
            max_length=32,
            required=False,
            choices=tuple(t.value for t in CertificateType),
        )
        certificate_type = CertificateType(kind) if kind is not None else None
        try:
            der, orders = check_sign_request(self.service, station, csr, certificate_type)
        except CsrRefused as refused:
            with self.service.store.transaction() as tx:
                self.service.audit(
                    tx,
                    "sign-request-refused",
                    subject=f"station={station}",
                    details={"certificate_type": kind, "reason": refused.detail[:400]},
                )
            return SignAnswer(
                {
                    "status": "Rejected",
                    "statusInfo": {"reasonCode": refused.reason_code, "additionalInfo": refused.detail[:512]},
                },
                (),
                refused.detail,
            )
        now = self.service.clock()
        superseded: list[SignJobRecord] = []
        with self.service.store.transaction() as tx:
            ids = []
            for order in orders:
                for old in self.jobs.open_in(tx, station, order.certificate_type.value):
                    self.jobs.finish_in(tx, old.id, FAILED, "superseded by a newer SignCertificate", now)
                    superseded.append(old)
                ids.append(self.jobs.add(tx, station, order.certificate_type.value, der, now))
            self.service.audit(
                tx,
                "sign-request",
                subject=f"station={station}",
                details={
                    "jobs": ids,
                    "certificate_types": [o.certificate_type.value for o in orders],
                    "common_name": orders[0].common_name,
                    "profile": orders[0].profile.value,
                    "superseded": [old.id for old in superseded],
                },
            )
        for old in superseded:
            self._withdraw(old, "sign-superseded")
        return SignAnswer({"status": "Accepted"}, tuple(ids), f"sign jobs {ids} recorded")

    def _withdraw(self, job: SignJobRecord, action: str) -> None:
        """Revoke the certificate a job issued that its station will not receive."""
        if job.serial_hex is None:
            return
        with contextlib.suppress(PkiError):  # already revoked, or gone: nothing left to withdraw
            self.service.revoke(
                job.serial_hex,
                RevocationReason.SUPERSEDED,
                record_also=lambda tx: self.service.audit(
                    tx,
                    action,
                    subject=f"station={job.station_id}",
                    serial=job.serial_hex,
                    details={"job": job.id},
                ),
            )

    # -- the jobs

    def sign(self, job: SignJobRecord) -> SignJobRecord:
        """Issue the job's certificate (pending -> signed); JobConflict if another process did."""
        order = order_for(self.service, job.station_id, job.csr_der, job.certificate_type)
        now = self.service.clock()
        self.service.issue_leaf(
            order.role,
            order.common_name,
            profile=order.profile,
            csr=job.csr_der,
            record_also=lambda tx, serial: self.jobs.mark_signed(tx, job.id, serial, now),
        )
        return self.jobs.get(job.id)

    def certificate_signed(self, job: SignJobRecord) -> dict[str, Any]:
        """The CertificateSignedRequest of a signed job: leaf and sub-CAs (no root) as PEM."""
        assert job.serial_hex is not None
        record = self.service.show(job.serial_hex)
        assert record.issuer is not None
        return {
            "certificateChain": pem_chain([record.der, *self._chain_of(record.issuer)]),
            "certificateType": job.certificate_type,
        }

    def _chain_of(self, issuer_name: str) -> list[bytes]:
        chain = self._chains.get(issuer_name)
        if chain is None:
            chain = []
            record = self.service.ca_record(issuer_name)
            while Role(record.role) not in ROOT_ROLES:
                chain.append(record.certificate_der)
                parent = ISSUER_OF[Role(record.role)]
                assert parent is not None
                record = self.service.ca_record(entity_name(record.profile, parent))
            self._chains[issuer_name] = chain
        return chain

    def record_answer(self, job: SignJobRecord, answer: Mapping[str, Any]) -> SignJobRecord:
        """The station's CertificateSignedResponse: Accepted -> delivered, else rejected."""
        status = answer.get("status")
        now = self.service.clock()
        accepted = status == "Accepted"
        info = answer.get("statusInfo")
        error = None if accepted else f"the station answered {status!r}" + (f": {info}" if info else "")
        with self.service.store.transaction() as tx:
            self.jobs.finish_in(tx, job.id, DELIVERED if accepted else REJECTED, error, now)
            self.service.audit(
                tx,
                "sign-delivered" if accepted else "sign-rejected-by-station",
                subject=f"station={job.station_id}",
                serial=job.serial_hex,
                details={"job": job.id, "certificate_type": job.certificate_type, "answer": dict(answer)},
            )
        if not accepted:
            self._withdraw(job, "sign-withdrawn")
        return self.jobs.get(job.id)

    def record_failure(self, job: SignJobRecord, error: str, *, final: bool) -> None:
        now = self.service.clock()
        with self.service.store.transaction() as tx:
            if final:
                self.jobs.finish_in(tx, job.id, FAILED, error[:2000], now)
            else:
                self.jobs.note_error_in(tx, job.id, error[:2000], now)
            self.service.audit(
                tx,
                "sign-failed" if final else "sign-attempt-failed",
                subject=f"station={job.station_id}",
                serial=job.serial_hex,
                details={"job": job.id, "attempts": job.attempts, "error": error[:400]},
            )


class SignJobRunner:
    """Signs and delivers the open sign jobs (see the module docstring). One per process, on the
    event loop of the bridge; ``deliver(station_id, certificateSignedPayload)`` sends
    CertificateSigned and returns the station's answer, raising :class:`StationOffline` (or one of
    ``offline_errors``) when the station is not connected."""

    def __init__(
        self,
        core: BridgeCore,
        deliver: Deliver,
        *,
        retry_delays: tuple[float, ...] | None = None,
        sweep_interval: float = SWEEP_INTERVAL,
        delivery_timeout: float = DELIVERY_TIMEOUT,
        offline_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.core = core
        self.signing = core.signing
        self.deliver = deliver
        self.retry_delays = core.settings.sign_retry_delays if retry_delays is None else retry_delays
        self.sweep_interval = sweep_interval
        self.delivery_timeout = delivery_timeout
        # what ``deliver`` raises for a station that is not connected (besides StationOffline),
        # e.g. the server's StationNotConnected: no attempt spent, the job waits for the station
        self.offline_errors: tuple[type[BaseException], ...] = (StationOffline, *offline_errors)
        self._due: dict[int, float] = {}  # job id -> loop time
        self._waiting: dict[str, set[int]] = {}  # station -> jobs waiting for it to connect
        self._sign_failures: dict[int, int] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self._main: asyncio.Task[None] | None = None
        self._stopping = False
        core.add_sign_listener(self.submit)

    # -- control

    async def start(self) -> None:
        """Resume the open jobs of the store and run until :meth:`stop`."""
        if self._main is not None:
            return
        self._wake = asyncio.Event()
        self._stopping = False
        await self.resume()
        self._main = asyncio.create_task(self._run(), name="sign-job-runner")

    async def stop(self) -> None:
        main, self._main = self._main, None
        # the flag ends the loop even when Python 3.11's wait_for swallows the cancellation (it does
        # when the awaited event fires in the same step as the cancel: the loop would then run on)
        self._stopping = True
        self._poke()
        if main is not None:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def resume(self) -> int:
        """Schedule every open job of the store this runner does not handle yet; their number."""
        jobs = await self.core.offload(lambda: self.signing.jobs.list(open_only=True))
        waiting = {j for ids in self._waiting.values() for j in ids}
        fresh = [
            j.id for j in jobs if j.id not in self._due and j.id not in self._tasks and j.id not in waiting
        ]
        self.submit(fresh)
        return len(fresh)

    def submit(self, job_ids: tuple[int, ...] | list[int]) -> None:
        """Process these jobs now (the core calls this after recording them)."""
        loop_time = asyncio.get_running_loop().time()
        for job_id in job_ids:
            self._due[job_id] = loop_time
        self._poke()

    def station_connected(self, station_id: str) -> None:
        """The station (re)connected: deliver what waits for it."""
        ids = self._waiting.pop(station_id, set())
        if ids:
            self.submit(sorted(ids))

    def waiting_for(self, station_id: str) -> set[int]:
        return set(self._waiting.get(station_id, ()))

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no job is scheduled (retries included) and none is being processed; jobs waiting
        for their station do not count (for tests and shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            if not self._tasks and not self._due:
                return
            if now > deadline:
                raise TimeoutError("sign jobs still running")
            await asyncio.sleep(0.01)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- the loop

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + self.sweep_interval
        while not self._stopping:
            self._wake.clear()
            now = loop.time()
            if now >= next_sweep:
                next_sweep = now + self.sweep_interval
                with contextlib.suppress(Exception):  # a store hiccup: the next sweep tries again
                    await self.resume()
            # a job being processed stays due until its task ends (which wakes this loop)
            for job_id in [j for j, t in self._due.items() if t <= now and j not in self._tasks]:
                del self._due[job_id]
                task = asyncio.create_task(self._process(job_id))
                self._tasks[job_id] = task
                task.add_done_callback(functools.partial(self._done, job_id))
            wake_at = min([*(t for j, t in self._due.items() if j not in self._tasks), next_sweep])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, wake_at - loop.time()))

    def _done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(job_id, None)
        self._poke()

    async def _process(self, job_id: int) -> None:
        try:
            await self._step(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # never lose the runner to one job; the job is retried by the sweep
            log.exception("sign job %s failed unexpectedly", job_id)

    async def _step(self, job_id: int) -> None:
        offload = self.core.offload
        job = await offload(lambda: self.signing.jobs.get(job_id))
        if job.status == PENDING:
            try:
                job = await offload(lambda: self.signing.sign(job))
            except JobConflict:
                return  # another process signs it
            except Exception as exc:
                await self._sign_failed(job, exc)
                return
            self._sign_failures.pop(job_id, None)
        if job.status != SIGNED:
            return
        payload = await offload(lambda: self.signing.certificate_signed(job))
        seen = job.attempts
        claimed = await offload(
            lambda: self.signing.jobs.claim_attempt(job_id, seen, self.core.service.clock())
        )
        if not claimed:
            return  # another process is delivering this attempt
        job = await offload(lambda: self.signing.jobs.get(job_id))
        try:
            answer = await asyncio.wait_for(self.deliver(job.station_id, payload), self.delivery_timeout)
        except self.offline_errors as exc:
            note = f"waiting for the station to connect ({exc})"[:2000]
            await offload(
                lambda: self.signing.jobs.release_attempt(job_id, seen + 1, self.core.service.clock(), note)
            )
            self._waiting.setdefault(job.station_id, set()).add(job_id)
            return
        except Exception as exc:
            await self._delivery_failed(job, f"{type(exc).__name__}: {exc}")
            return
        if not isinstance(answer, Mapping) or answer.get("status") not in ("Accepted", "Rejected"):
            await self._delivery_failed(
                job, f"the station's answer is no CertificateSignedResponse: {answer!r}"[:400]
            )
            return
        await offload(lambda: self.signing.record_answer(job, answer))

    async def _delivery_failed(self, job: SignJobRecord, error: str) -> None:
        final = job.attempts > len(self.retry_delays)
        await self.core.offload(lambda: self.signing.record_failure(job, error, final=final))
        if not final:
            self._retry(job.id, self.retry_delays[job.attempts - 1])

    async def _sign_failed(self, job: SignJobRecord, exc: Exception) -> None:
        failures = self._sign_failures.get(job.id, 0) + 1
        self._sign_failures[job.id] = failures
        final = failures > len(self.retry_delays) or isinstance(exc, CsrRefused)
        error = f"signing failed: {type(exc).__name__}: {exc}"
        await self.core.offload(lambda: self.signing.record_failure(job, error, final=final))
        if not final:
            self._retry(job.id, self.retry_delays[failures - 1])
        else:
            self._sign_failures.pop(job.id, None)

    def _retry(self, job_id: int, delay: float) -> None:
        self._due[job_id] = asyncio.get_running_loop().time() + delay
        self._poke()


__all__ = ["Deliver", "SignAnswer", "SignJobRunner", "SigningService", "pem_chain"]
