"""OCSP for certificates of other CAs: requests to the responder a certificate (AIA) or a charger
(``responderURL``) names, with a cache and a timeout.

- :class:`OcspFetcher` is the only network I/O of the bridge core: ``fetch(url, request_der,
  timeout)`` returns the DER response. :class:`HttpOcspFetcher`, the default, POSTs
  ``application/ocsp-request`` (RFC 6960 A.1) with ``httpx.AsyncClient``, follows no redirects and
  reads at most 64 KiB.
- :class:`OcspClient` turns a CertID and a URL into a checked answer. The URL must be http(s) and,
  when ``allowed_hosts`` is set, name one of those hosts (a charger chooses ``responderURL``: the
  guard keeps it from steering the bridge at internal services). Requests carry no nonce
  (RFC 5019), so answers are shared: one fetch per CertID and URL at a time (concurrent callers
  wait for it), and an answer is cached until its ``nextUpdate`` (at most a day; 60 s when the
  responder gives none). A failure is remembered for 5 s so that a dead responder costs one timeout
  per 5 s, not one per Authorize.
- An answer is *verified* when it is signed by the issuer or by a responder the issuer certified
  (:func:`pki.ocsp.check_response`); the issuer is the one given, one the bridge knows
  (:class:`pnc.core.home_trust.KnownIssuers`), or a certificate in the response whose name and key
  hash to the CertID's issuer hashes. Authorize uses verified answers only; GetCertificateStatus
  passes an unverified one on (the charger verifies it against its own roots).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from pki.certid import CertId
from pki.certinfo import CertInfo, parse_certificate
from pki.errors import CertificateParseError, OcspError, PkiError
from pki.ocsp import OcspResponseStatus, SingleStatus, build_request_for, check_response, parse_response
from pnc.core.errors import OcspUnavailable
from pnc.core.home_trust import KnownIssuers

T = TypeVar("T")
Offload = Callable[[Callable[[], T]], Awaitable[T]]

MAX_RESPONSE_BYTES = 64 * 1024
FAILURE_TTL = 5.0
DEFAULT_TTL = 60.0
MAX_TTL = 86_400.0
MAX_CACHED = 50_000


class OcspFetcher(Protocol):
    async def fetch(self, url: str, request_der: bytes, timeout: float) -> bytes:
        """POST ``request_der`` to ``url``; the DER response, or :class:`OcspUnavailable`."""
        ...


class HttpOcspFetcher:
    """:class:`OcspFetcher` over ``httpx.AsyncClient`` (one client per event loop)."""

    def __init__(self, *, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.max_response_bytes = max_response_bytes
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client_for_loop(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                headers={"Content-Type": "application/ocsp-request", "Accept": "application/ocsp-response"},
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
            self._loop = loop
        return self._client

    async def fetch(self, url: str, request_der: bytes, timeout: float) -> bytes:
        import httpx

        client = self._client_for_loop()
        try:
            async with client.stream("POST", url, content=request_der, timeout=timeout) as response:
                if response.status_code != 200:
                    raise OcspUnavailable("http", f"{url} answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_response_bytes:
                        raise OcspUnavailable(
                            "malformed", f"{url} sent more than {self.max_response_bytes} bytes"
                        )
                return bytes(body)
        except httpx.TimeoutException:
            raise OcspUnavailable("timeout", f"{url} did not answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise OcspUnavailable("http", f"{url}: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close the client from outside its event loop (when that loop is not running)."""
        client, loop = self._client, self._loop
        self._client = None
        if client is not None and loop is not None and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(client.aclose())


@dataclass(frozen=True)
class OcspAnswer:
    """A successful response about one CertID: its DER, the status in it, and whether its
    signature was verified (see the module docstring)."""

    der: bytes
    single: SingleStatus
    verified: bool
    next_update: dt.datetime | None


def check_url(url: str, allowed_hosts: frozenset[str] | None) -> None:
    """Refuse what the bridge must not fetch: not http(s), no host, or a host not allowed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise OcspUnavailable("refused-url", f"{url[:100]!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise OcspUnavailable("refused-url", f"{url[:100]!r} is not an http(s) URL")
    if allowed_hosts is not None and host.lower() not in allowed_hosts:
        raise OcspUnavailable("refused-url", f"OCSP host {host!r} is not in the allowed hosts")


class OcspClient:
    """Checked, cached OCSP answers. Use from one event loop at a time (the bridge's)."""

    def __init__(
        self,
        fetcher: OcspFetcher,
        *,
        timeout: float,
        allowed_hosts: frozenset[str] | None,
        known: KnownIssuers,
        clock: Callable[[], dt.datetime],
        offload: Offload[Any],
        failure_ttl: float = FAILURE_TTL,
    ) -> None:
        self.fetcher = fetcher
        self.timeout = timeout
        self.allowed_hosts = (
            frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        )
        self.known = known
        self.clock = clock
        self._offload = offload
        self.failure_ttl = failure_ttl
        self._answers: dict[tuple[CertId, str], tuple[OcspAnswer, float]] = {}
        self._failures: dict[tuple[CertId, str], tuple[OcspUnavailable, float]] = {}
        self._inflight: dict[tuple[CertId, str], asyncio.Future[OcspAnswer]] = {}
        self.fetches = 0  # responder round trips made (for metrics and tests)

    async def answer(
        self, cert_id: CertId, url: str, *, issuer: CertInfo | None = None, verify: bool = True
    ) -> OcspAnswer:
        """The responder's answer about ``cert_id``; :class:`OcspUnavailable` when there is none
        (or, with ``verify``, none whose signature verifies)."""
        check_url(url, self.allowed_hosts)
        key = (cert_id, url)
        now = time.monotonic()
        hit = self._answers.get(key)
        if hit is not None and hit[1] > now and (hit[0].verified or not verify):
            return hit[0]
        failed = self._failures.get(key)
        if failed is not None and failed[1] > now:
            raise failed[0]
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._inflight[key] = pending
            try:
                result = await self._fetch(cert_id, url, issuer)
            except OcspUnavailable as exc:
                self._remember_failure(key, exc)
                pending.set_exception(exc)
                pending.exception()  # retrieved: no "never retrieved" warning without waiters
                raise
            except BaseException as exc:
                pending.set_exception(exc)
                pending.exception()
                raise
            else:
                pending.set_result(result)
            finally:
                del self._inflight[key]
        else:
            result = await asyncio.shield(pending)
        if verify and not result.verified:
            raise OcspUnavailable(
                "unknown-issuer",
                f"the OCSP answer about serial {cert_id.serial_hex} from {url} cannot be verified: "
                "its issuer is not known here and the response does not include it",
            )
        return result

    def _remember_failure(self, key: tuple[CertId, str], exc: OcspUnavailable) -> None:
        if len(self._failures) >= MAX_CACHED:
            self._failures.clear()
        self._failures[key] = (exc, time.monotonic() + self.failure_ttl)

    async def _fetch(self, cert_id: CertId, url: str, issuer: CertInfo | None) -> OcspAnswer:
        request = build_request_for([cert_id])
        self.fetches += 1
        try:
            raw = await asyncio.wait_for(self.fetcher.fetch(url, request, self.timeout), self.timeout)
        except TimeoutError:
            raise OcspUnavailable("timeout", f"{url} did not answer within {self.timeout:g} s") from None
        answer: OcspAnswer = await self._offload(lambda: self._check(cert_id, url, raw, issuer))
        ttl = DEFAULT_TTL
        if answer.next_update is not None:
            ttl = min(MAX_TTL, (answer.next_update - self.clock()).total_seconds())
        if ttl > 0:
            if len(self._answers) >= MAX_CACHED:
                self._answers.clear()
            self._answers[(cert_id, url)] = (answer, time.monotonic() + ttl)
        return answer

    def _check(self, cert_id: CertId, url: str, raw: bytes, issuer: CertInfo | None) -> OcspAnswer:
        try:
            parsed = parse_response(raw)
        except (OcspError, CertificateParseError) as exc:
            raise OcspUnavailable("malformed", f"{url}: {exc}") from None
        if parsed.status is not OcspResponseStatus.SUCCESSFUL:
            raise OcspUnavailable("error-status", f"{url} answered {parsed.status}")
        single = parsed.status_for(cert_id)
        if single is None:
            raise OcspUnavailable(
                "malformed", f"{url} answered without a status for serial {cert_id.serial_hex}"
            )
        now = self.clock()
        candidates = [c for c in (issuer, self.known.find(cert_id)) if c is not None]
        candidates += _hash_bound_issuers(cert_id, parsed.certs)
        verified = False
        problem = ""
        for candidate in candidates:
            try:
                check_response(parsed, candidate.der, now)
            except (OcspError, PkiError) as exc:
                problem = str(exc)
                continue
            verified = True
            break
        if candidates and not verified:
            raise OcspUnavailable("unverified", f"the OCSP answer from {url} does not verify: {problem}")
        return OcspAnswer(raw, single, verified, single.next_update)


def _hash_bound_issuers(cert_id: CertId, certs: tuple[bytes, ...]) -> list[CertInfo]:
    """Certificates in a response whose subject name and key are the ones the CertID hashes name:
    the issuer itself, whatever else vouches for it."""
    found = []
    for der in certs:
        try:
            cert = parse_certificate(der)
            if cert.is_ca and cert_id.matches_issuer(cert.subject_der, cert.public_key_der):
                found.append(cert)
        except PkiError:
            continue
    return found


__all__ = ["HttpOcspFetcher", "OcspAnswer", "OcspClient", "OcspFetcher", "check_url"]
