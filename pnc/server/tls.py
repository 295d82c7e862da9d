"""TLS for ``pnc serve``: the server context (security profiles 2 and 3) and the peer certificate in
the ASGI scope.

The port speaks TLS 1.2 or newer with the operator's server certificate. A client certificate is
requested but optional (profile-2 stations have none): when one is sent, OpenSSL verifies it
against the client CAs (the home's Charging Station CA roots and ``--client-ca``) during the
handshake and refuses the connection when it does not chain to one of them.

uvicorn does not put the peer certificate into the ASGI scope, so :class:`TlsWebSocketProtocol`
(uvicorn's websocket protocol, which receives the connection's transport at the upgrade) adds the
ASGI TLS extension, ``scope["extensions"]["tls"]["client_cert_chain"]``: the PEM of the verified
client certificate (Python 3.11's ``ssl`` exposes the peer's leaf only, which is what the
profile-3 check needs).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pnc.server.errors import ServerError


def _pem(der: bytes) -> str:
    return ssl.DER_cert_to_PEM_cert(der)


def server_context(
    cert: Path, key: Path, *, client_cas: Iterable[bytes] = (), client_ca_file: Path | None = None
) -> ssl.SSLContext:
    """A TLS server context with ``cert``/``key``; with client CAs (DER roots and/or a PEM file)
    it asks for an optional client certificate and verifies it against them."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from None
    roots = "".join(_pem(der) for der in client_cas)
    if roots:
        ctx.load_verify_locations(cadata=roots)
    if client_ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ServerError(f"cannot load the client CA file {client_ca_file}: {exc}") from None
    if roots or client_ca_file is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        # X509_V_FLAG_PARTIAL_CHAIN is not set: a client certificate must chain to a root given here
    return ctx


def tls_extension(transport: Any) -> dict[str, Any] | None:
    """The ASGI TLS extension of a connection (None on a plain connection)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [_pem(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
    }


class TlsWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, adding the ASGI TLS extension to the scope."""

    async def run_asgi(self) -> None:
        info = tls_extension(self.transport)
        if info is not None:
            scope: MutableMapping[str, Any] = self.scope  # type: ignore[assignment]
            scope.setdefault("extensions", {})["tls"] = info
        await super().run_asgi()


def client_certificate(scope: MutableMapping[str, Any]) -> bytes | None:
    """The DER of the verified client certificate of a connection, if it sent one."""
    info = (scope.get("extensions") or {}).get("tls")
    if not info or not info.get("client_cert_chain"):
        return None
    return ssl.PEM_cert_to_DER_cert(info["client_cert_chain"][0])


def is_tls(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("scheme") in ("wss", "https")


__all__ = ["TlsWebSocketProtocol", "client_certificate", "is_tls", "server_context", "tls_extension"]
