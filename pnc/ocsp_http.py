"""OCSP over HTTP (RFC 6960 appendix A, RFC 5019): a small ASGI application.

POST with ``Content-Type: application/ocsp-request`` carries the DER request in the body; GET carries
it base64-encoded (and URL-encoded) as the last part of the path. Answers are
``application/ocsp-response``; a malformed request gets an OCSP ``malformedRequest`` response, as
RFC 6960 2.3 prescribes, not an HTTP error. GET answers without a nonce carry the RFC 5019 6.2 caching
headers (max-age up to nextUpdate, Last-Modified, Expires, ETag).

The application only moves bytes: the responder behind it (``pki.responder``) looks the status up,
signs and caches. Answers already in the responder's cache are served on the event loop; the others
(store look-up, signing) run in a worker thread so a slow database never stalls the loop. The same
app is mounted at ``/ocsp`` by ``pnc serve`` (``root_path`` is honoured).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import email.utils
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol
from urllib.parse import unquote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REQUEST_TYPE = "application/ocsp-request"
RESPONSE_TYPE = "application/ocsp-response"
MAX_REQUEST_BYTES = 16 * 1024  # a request for a handful of certificates is a few hundred bytes


class Answer(Protocol):
    """An encoded OCSPResponse and, for caching headers, its validity."""

    @property
    def der(self) -> bytes: ...
    @property
    def this_update(self) -> dt.datetime | None: ...
    @property
    def next_update(self) -> dt.datetime | None: ...
    @property
    def cacheable(self) -> bool: ...


class Responder(Protocol):
    def cached(self, request_der: bytes) -> Answer | None:
        """The answer when it is at hand without I/O (no store query, no signing), else None."""
        ...

    def respond(self, request_der: bytes) -> Answer:
        """The answer to any bytes: malformed input yields an OCSP error response, never an exception."""
        ...

    def error(self, status: str) -> bytes:
        """An unsigned OCSP error response (``malformedRequest``, ``internalError``, ...)."""
        ...


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)


def decode_get_path(path: str) -> bytes | None:
    """The DER request in a GET path (RFC 5019 5: base64, then URL-encoded; some clients leave '/'
    unencoded or use the URL-safe alphabet). None when it is not base64."""
    text = unquote(path.lstrip("/")).replace(" ", "+")
    if not text:
        return None
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


class OcspApp:
    """The ASGI application; ``offload`` runs uncached answers in a worker thread; ``path_prefix`` (the
    path of the OCSP URL in the certificates, e.g. ``/ocsp``) is stripped from GET paths."""

    def __init__(
        self,
        responder: Responder,
        *,
        offload: bool = True,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        path_prefix: str = "",
        max_cache_age: int = 300,
    ) -> None:
        self.max_cache_age = max_cache_age
        self.responder = responder
        self.path_prefix = path_prefix.rstrip("/")
        self.offload = offload
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "POST":
            await self._post(scope, receive, send)
        elif method in ("GET", "HEAD"):
            await self._get(scope, send, head=method == "HEAD")
        else:
            await _plain(send, 405, b"OCSP accepts GET and POST\n", [(b"allow", b"GET, POST")])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
        if content_type != REQUEST_TYPE:
            await _plain(send, 415, f"Content-Type must be {REQUEST_TYPE}\n".encode())
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_request_bytes:
            await _plain(send, 413, b"OCSP request too large\n")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_request_bytes:
                await _plain(send, 413, b"OCSP request too large\n")
                return
            if not message.get("more_body", False):
                break
        await self._answer(bytes(body), send, get=False, head=False)

    async def _get(self, scope: Scope, send: Send, *, head: bool) -> None:
        raw = scope.get("raw_path")
        path = raw.decode("latin-1").split("?")[0] if isinstance(raw, bytes) else scope["path"]
        root = scope.get("root_path", "")
        for prefix in (root, self.path_prefix):
            if prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) :]
        if len(path) > self.max_request_bytes * 2:
            await _plain(send, 414, b"OCSP request too large\n")
            return
        request = decode_get_path(path)
        if request is None:
            await _ocsp(send, self.responder.error("malformedRequest"), head=head)
            return
        await self._answer(request, send, get=True, head=head)

    async def _answer(self, request: bytes, send: Send, *, get: bool, head: bool) -> None:
        answer = self.responder.cached(request)
        if answer is None:
            try:
                if self.offload:
                    answer = await asyncio.to_thread(self.responder.respond, request)
                else:
                    answer = self.responder.respond(request)
            except Exception:  # the responder promises not to raise; never let a bug kill the server
                await _ocsp(send, self.responder.error("internalError"), head=head)
                return
        headers: list[tuple[bytes, bytes]] = []
        if get and answer.cacheable and answer.this_update and answer.next_update:
            now = dt.datetime.now(dt.UTC)
            # RFC 5019 6.2: max-age between thisUpdate and nextUpdate; capped so that HTTP caches
            # pass a revocation on within minutes, not at nextUpdate
            max_age = max(0, min(self.max_cache_age, int((answer.next_update - now).total_seconds())))
            headers += [
                (b"cache-control", f"max-age={max_age}, public, no-transform, must-revalidate".encode()),
                (b"last-modified", _http_date(answer.this_update).encode()),
                (b"expires", _http_date(answer.next_update).encode()),
                (b"etag", f'"{hashlib.sha256(answer.der).hexdigest()[:32]}"'.encode()),
            ]
        await _ocsp(send, answer.der, headers, head=head)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


async def _ocsp(
    send: Send, body: bytes, extra: list[tuple[bytes, bytes]] | None = None, *, head: bool = False
) -> None:
    headers = [(b"content-type", RESPONSE_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _plain(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
