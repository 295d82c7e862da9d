"""Running the bridge under uvicorn: the server configuration ``pnc serve`` (and the tests) use.

- websockets through :class:`pnc.server.tls.TlsWebSocketProtocol` (uvicorn's sans-I/O websockets
  protocol plus the peer certificate in the scope);
- per-message deflate off: it costs CPU per message and tens of kilobytes of zlib state per
  connection, which 10,000 idle chargers cannot afford;
- a websocket frame limit of ``max(1 MiB, 4 x max_frame_bytes)``: messages up to
  ``max_frame_bytes`` (64 KiB) are processed, longer ones up to that limit get a CallError and the
  connection stays up, beyond it uvicorn closes the connection (1009, message too big);
- TLS when the settings name a certificate: :func:`pnc.server.tls.server_context` with the home's
  Charging Station CA roots and ``client_ca`` as client CAs.
"""

from __future__ import annotations

import ssl
from typing import Any

import uvicorn

from pki.ca import CaService
from pki.errors import PkiError
from pki.profiles import Role
from pnc.server.settings import ServeSettings
from pnc.server.tls import TlsWebSocketProtocol, server_context

TRANSPORT_MAX_BYTES = 1024 * 1024


def client_cas(service: CaService) -> list[bytes]:
    """The Charging Station CA roots (DER) of every profile of the home."""
    roots: list[bytes] = []
    for profile in service.profiles():
        try:
            found = service.roots(profile).get(Role.CSO_ROOT)
        except PkiError:
            continue
        if found is not None:
            roots.append(found)
    return roots


def ssl_context(service: CaService, settings: ServeSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None:
        return None
    if settings.tls_key is None:
        raise ValueError("a TLS certificate needs its key (--tls-key)")
    return server_context(
        settings.tls_cert, settings.tls_key, client_cas=client_cas(service), client_ca_file=settings.client_ca
    )


def uvicorn_config(
    app: Any, settings: ServeSettings, context: ssl.SSLContext | None, **overrides: Any
) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ws": TlsWebSocketProtocol,
        "ws_max_size": max(TRANSPORT_MAX_BYTES, 4 * settings.max_frame_bytes),
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "lifespan": "on",
        "log_level": "warning",
        "access_log": False,
        "backlog": 4096,
        "timeout_graceful_shutdown": 5,
    }
    if context is not None:
        options["ssl_context_factory"] = lambda _config, _default: context
    options.update(overrides)
    return uvicorn.Config(app, **options)


__all__ = ["TRANSPORT_MAX_BYTES", "client_cas", "ssl_context", "uvicorn_config"]
