"""SECC Discovery Protocol (SDP) over UDP: how an EV finds the charger's TCP port.

The EV sends an SDP request (V2GTP payload type 0x9000: the security it wants, TLS or none, and
TCP) to the SDP port; the charger answers (0x9001) with its address, its TCP port and the security
it offers. On a real cable the request is an IPv6 link-local multicast; here it is unicast to the
address given (loopback), and an IPv4 SECC answers with its IPv4-mapped IPv6 address, the only
form the 16-byte address field has. The EV repeats an unanswered request every ``timeout``
seconds, ``attempts`` times in all (ISO 15118-2 allows 50 attempts of 250 ms).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import cast

from pnc.sim.errors import SimError
from v2g import v2gtp
from v2g.errors import V2GError

SDP_PORT = 15118
SDP_TIMEOUT = 0.25
SDP_ATTEMPTS = 50


@dataclass(frozen=True)
class Discovered:
    """What the charger's SDP response says: where to connect, with or without TLS."""

    host: str
    port: int
    tls: bool


def response_address(host: str) -> ipaddress.IPv6Address:
    """The SDP address field for a listening address (IPv4 as an IPv4-mapped IPv6 address)."""
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv4Address):
        return ipaddress.IPv6Address(f"::ffff:{address}")
    return address


class SdpResponder(asyncio.DatagramProtocol):
    """The charger's side: answers every well-formed SDP request with ``response``; ignores
    anything else (a broadcast medium carries other traffic)."""

    def __init__(self, response: v2gtp.SDPResponse) -> None:
        self.response = response
        self.answered = 0
        self.ignored = 0
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            frame = v2gtp.parse_frame(data)
            if frame.payload_type != v2gtp.PayloadType.SDP_REQUEST:
                raise V2GError(f"payload type {frame.payload_type:#06x} is no SDP request")
            v2gtp.SDPRequest.from_payload(frame.payload)
        except V2GError:
            self.ignored += 1
            return
        assert self._transport is not None
        self._transport.sendto(
            v2gtp.build_frame(v2gtp.PayloadType.SDP_RESPONSE, self.response.to_payload()), addr
        )
        self.answered += 1


async def serve_sdp(
    host: str, port: int, *, tcp_port: int, tls: bool
) -> tuple[asyncio.DatagramTransport, SdpResponder]:
    """Answer SDP requests on UDP ``host:port`` with ``host:tcp_port`` and the security offered."""
    security = v2gtp.Security.TLS if tls else v2gtp.Security.NO_TRANSPORT_SECURITY
    responder = SdpResponder(v2gtp.SDPResponse(response_address(host), tcp_port, security))
    try:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: responder, local_addr=(host, port)
        )
    except OSError as exc:
        raise SimError(f"cannot answer SDP on UDP {host}:{port}: {exc}") from None
    return transport, responder


class _Asker(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.answers.put_nowait(data)


async def discover(
    host: str,
    port: int = SDP_PORT,
    *,
    tls: bool,
    attempts: int = SDP_ATTEMPTS,
    timeout: float = SDP_TIMEOUT,
) -> Discovered:
    """The EV's side: ask ``host:port`` (UDP) for the SECC, TLS or not; :class:`SimError` when no
    valid answer came after ``attempts`` requests."""
    security = v2gtp.Security.TLS if tls else v2gtp.Security.NO_TRANSPORT_SECURITY
    request = v2gtp.build_frame(v2gtp.PayloadType.SDP_REQUEST, v2gtp.SDPRequest(security).to_payload())
    loop = asyncio.get_running_loop()
    asker = _Asker()
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: asker, remote_addr=(host, port))
    except OSError as exc:
        raise SimError(f"cannot send SDP requests to UDP {host}:{port}: {exc}") from None
    last_error = "no answer"
    try:
        for _ in range(attempts):
            transport.sendto(request)
            deadline = loop.time() + timeout
            while (left := deadline - loop.time()) > 0:
                try:
                    data = await asyncio.wait_for(asker.answers.get(), left)
                except TimeoutError:
                    break
                try:
                    frame = v2gtp.parse_frame(data)
                    if frame.payload_type != v2gtp.PayloadType.SDP_RESPONSE:
                        raise V2GError(f"payload type {frame.payload_type:#06x} is no SDP response")
                    answer = v2gtp.SDPResponse.from_payload(frame.payload)
                except V2GError as exc:
                    last_error = str(exc)
                    continue
                address = answer.address.ipv4_mapped or answer.address
                return Discovered(str(address), answer.port, answer.security == v2gtp.Security.TLS)
    finally:
        transport.close()
    raise SimError(f"SDP: no valid answer from UDP {host}:{port} after {attempts} requests ({last_error})")


__all__ = [
    "SDP_ATTEMPTS",
    "SDP_PORT",
    "SDP_TIMEOUT",
    "Discovered",
    "SdpResponder",
    "discover",
    "response_address",
    "serve_sdp",
]
