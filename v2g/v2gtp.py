"""V2G Transfer Protocol (V2GTP): the 8-byte header that frames every V2G message, sans-IO.

A V2GTP message is a header and a payload (ISO 15118-2 §7.8.3, DIN SPEC 70121 §8.7.3; the payload
types of ISO 15118-20 are its Table 12)::

    byte 0      protocol version          0x01
    byte 1      inverse protocol version  0xFE (the bitwise inverse of byte 0)
    bytes 2-3   payload type              big-endian, e.g. 0x8001 (EXI), 0x9000 (SDP request)
    bytes 4-7   payload length            big-endian, bytes after the header

This module builds and checks headers, splits a TCP byte stream into frames (:class:`FrameParser`:
feed bytes as they arrive, get whole frames back) and builds and parses the two SDP payloads. It
does no I/O: the caller owns the socket.

Every check fails with a :class:`V2GTPError` (a :class:`~v2g.errors.V2GError`) that says what was
wrong and at which byte. A header that claims more than ``max_payload_length`` bytes is refused as
soon as its 8 bytes are in, before any payload is buffered: a peer cannot make us reserve memory
by announcing a large length.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from v2g.errors import V2GError

PROTOCOL_VERSION = 0x01
INVERSE_PROTOCOL_VERSION = 0xFE
HEADER_LENGTH = 8
#: The largest payload accepted by default. The largest schema-valid V2G messages are far beyond
#: the 4.1 kB of a typical CertificateInstallationRes: an ISO 15118-20 ScheduleExchangeRes with
#: every array at maxOccurs encodes to about 1.06 MB, an ISO 15118-2 ChargeParameterDiscoveryRes
#: to about 0.33 MB (measured with EXIficient). 2 MiB takes every valid message; a DIN or -2 only
#: device may pass a smaller limit.
DEFAULT_MAX_PAYLOAD_LENGTH = 2 * 1024 * 1024
#: Payload types 0xA000-0xFFFF are free for manufacturer-specific use (no uniqueness guaranteed).
MANUFACTURER_SPECIFIC = range(0xA000, 0x10000)


class PayloadType(IntEnum):
    """V2GTP payload types (ISO 15118-2 Table 10, DIN SPEC 70121 Table 16, ISO 15118-20 Table 12)."""

    #: EXI-encoded V2G message: SupportedAppProtocol, DIN SPEC 70121 and ISO 15118-2 messages
    EXI = 0x8001
    #: ISO 15118-20 CommonMessages ("mainstream")
    MAINSTREAM = 0x8002
    AC_MAINSTREAM = 0x8003
    DC_MAINSTREAM = 0x8004
    ACDP_MAINSTREAM = 0x8005
    WPT_MAINSTREAM = 0x8006
    SCHEDULE_RENEGOTIATION = 0x8101
    METERING_CONFIRMATION = 0x8102
    ACDP_SYSTEM_STATUS = 0x8103
    PARKING_STATUS = 0x8104
    SDP_REQUEST = 0x9000
    SDP_RESPONSE = 0x9001
    SDP_REQUEST_WIRELESS = 0x9002
    SDP_RESPONSE_WIRELESS = 0x9003


#: The codec protocol of the EXI stream an ISO 15118-20 payload type carries (docs/exi.md). 0x8001
#: carries SAP, DIN or -2: the SupportedAppProtocol handshake decides which.
PROTOCOL_BY_PAYLOAD_TYPE: dict[int, str] = {
    PayloadType.MAINSTREAM: "iso20-cm",
    PayloadType.AC_MAINSTREAM: "iso20-ac",
    PayloadType.DC_MAINSTREAM: "iso20-dc",
    PayloadType.ACDP_MAINSTREAM: "iso20-acdp",
    PayloadType.WPT_MAINSTREAM: "iso20-wpt",
}
_PAYLOAD_TYPE_BY_PROTOCOL: dict[str, int] = {
    "sap": PayloadType.EXI,
    "din": PayloadType.EXI,
    "iso2": PayloadType.EXI,
    **{protocol: payload_type for payload_type, protocol in PROTOCOL_BY_PAYLOAD_TYPE.items()},
}
#: Payload lengths fixed by the standard: SDP request 2 bytes, SDP response 20 bytes.
FIXED_PAYLOAD_LENGTH: dict[int, int] = {PayloadType.SDP_REQUEST: 2, PayloadType.SDP_RESPONSE: 20}


class V2GTPError(V2GError):
    """A V2GTP header or frame is malformed; ``offset`` is the byte where the problem is."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


class V2GTPVersionError(V2GTPError):
    """The protocol version is not 0x01 or its inverse is not 0xFE."""


class V2GTPPayloadTypeError(V2GTPError):
    """The payload type is not one this receiver accepts."""


class V2GTPLengthError(V2GTPError):
    """The payload length is over the maximum, or not the fixed length of its payload type."""


class V2GTPTruncatedError(V2GTPError):
    """Fewer bytes than the header announces (or than a header)."""


class V2GTPTrailingDataError(V2GTPError):
    """Bytes after the end of a frame where exactly one frame was expected."""


@dataclass(frozen=True, slots=True)
class Header:
    """A checked V2GTP header."""

    payload_type: int
    payload_length: int

    def to_bytes(self) -> bytes:
        return build_header(self.payload_type, self.payload_length)


@dataclass(frozen=True, slots=True)
class Frame:
    """One V2GTP message: its payload type and payload (the EXI stream, or an SDP payload)."""

    payload_type: int
    payload: bytes

    def to_bytes(self) -> bytes:
        return build_frame(self.payload_type, self.payload)

    @property
    def protocol(self) -> str | None:
        """The codec protocol of an ISO 15118-20 payload; None for 0x8001 (see the handshake)."""
        return PROTOCOL_BY_PAYLOAD_TYPE.get(self.payload_type)


def payload_type_for(protocol: str) -> int:
    """The payload type that carries EXI streams of a codec protocol (``sap``, ``iso20-dc``...)."""
    try:
        return _PAYLOAD_TYPE_BY_PROTOCOL[protocol]
    except KeyError:
        known = ", ".join(_PAYLOAD_TYPE_BY_PROTOCOL)
        raise V2GTPPayloadTypeError(
            f"no V2GTP payload type for protocol {protocol!r} (known: {known})"
        ) from None


def _known(payload_type: int, extra: Collection[int]) -> bool:
    return payload_type in PayloadType._value2member_map_ or payload_type in extra


def build_header(payload_type: int, payload_length: int) -> bytes:
    """The 8 header bytes for a payload of ``payload_length`` bytes."""
    if not 0 <= payload_type <= 0xFFFF:
        raise V2GTPPayloadTypeError(f"payload type {payload_type:#x} does not fit in 16 bits")
    if not 0 <= payload_length <= 0xFFFFFFFF:
        raise V2GTPLengthError(f"payload length {payload_length} does not fit in 32 bits")
    return bytes(
        (
            PROTOCOL_VERSION,
            INVERSE_PROTOCOL_VERSION,
            payload_type >> 8,
            payload_type & 0xFF,
            *payload_length.to_bytes(4, "big"),
        )
    )


def build_frame(payload_type: int, payload: bytes) -> bytes:
    """Header and payload, ready to send."""
    expected = FIXED_PAYLOAD_LENGTH.get(payload_type)
    if expected is not None and len(payload) != expected:
        raise V2GTPLengthError(
            f"payload type {payload_type:#06x} has a {expected}-byte payload, not {len(payload)} bytes"
        )
    return build_header(payload_type, len(payload)) + bytes(payload)


def frame_exi(data: bytes, protocol: str) -> bytes:
    """An EXI stream of a codec protocol in a V2GTP frame with that protocol's payload type."""
    return build_frame(payload_type_for(protocol), data)


def parse_header(
    data: bytes | bytearray | memoryview,
    *,
    max_payload_length: int = DEFAULT_MAX_PAYLOAD_LENGTH,
    extra_payload_types: Collection[int] = (),
    offset: int = 0,
) -> Header:
    """Check the 8 header bytes at the start of ``data`` (``offset`` only labels errors).

    Refuses a wrong version or inverse, a payload type that is neither a :class:`PayloadType` nor
    in ``extra_payload_types`` (e.g. a manufacturer-specific type), a length above
    ``max_payload_length`` and an SDP payload of the wrong fixed length.
    """
    if len(data) < HEADER_LENGTH:
        raise V2GTPTruncatedError(
            f"V2GTP header truncated: {len(data)} of {HEADER_LENGTH} bytes at byte {offset}", offset
        )
    version, inverse = data[0], data[1]
    if version != PROTOCOL_VERSION:
        raise V2GTPVersionError(
            f"V2GTP protocol version {version:#04x} at byte {offset}, expected {PROTOCOL_VERSION:#04x}",
            offset,
        )
    if inverse != INVERSE_PROTOCOL_VERSION:
        raise V2GTPVersionError(
            f"V2GTP inverse protocol version {inverse:#04x} at byte {offset + 1}, "
            f"expected {INVERSE_PROTOCOL_VERSION:#04x}",
            offset + 1,
        )
    payload_type = (data[2] << 8) | data[3]
    if not _known(payload_type, extra_payload_types):
        raise V2GTPPayloadTypeError(
            f"unknown V2GTP payload type {payload_type:#06x} at byte {offset + 2}", offset + 2
        )
    length = int.from_bytes(data[4:8], "big")
    if length > max_payload_length:
        raise V2GTPLengthError(
            f"V2GTP payload length {length} at byte {offset + 4} is over the maximum of {max_payload_length} bytes",
            offset + 4,
        )
    expected = FIXED_PAYLOAD_LENGTH.get(payload_type)
    if expected is not None and length != expected:
        raise V2GTPLengthError(
            f"V2GTP payload type {payload_type:#06x} has a {expected}-byte payload, the header at byte {offset} says {length}",
            offset + 4,
        )
    return Header(payload_type, length)


def parse_frame(
    data: bytes | bytearray | memoryview,
    *,
    max_payload_length: int = DEFAULT_MAX_PAYLOAD_LENGTH,
    extra_payload_types: Collection[int] = (),
) -> Frame:
    """Exactly one whole frame (e.g. an SDP datagram): header checked, no byte missing or extra."""
    header = parse_header(
        data, max_payload_length=max_payload_length, extra_payload_types=extra_payload_types
    )
    end = HEADER_LENGTH + header.payload_length
    if len(data) < end:
        raise V2GTPTruncatedError(
            f"V2GTP frame truncated: the header announces {header.payload_length} payload bytes, "
            f"{len(data) - HEADER_LENGTH} are there",
            len(data),
        )
    if len(data) > end:
        raise V2GTPTrailingDataError(
            f"{len(data) - end} bytes after the V2GTP frame that ends at byte {end}", end
        )
    return Frame(header.payload_type, bytes(data[HEADER_LENGTH:end]))


def iter_frames(
    data: bytes | bytearray | memoryview,
    *,
    max_payload_length: int = DEFAULT_MAX_PAYLOAD_LENGTH,
    extra_payload_types: Collection[int] = (),
) -> Iterator[Frame]:
    """The frames of a complete byte stream (e.g. a capture); a partial last frame is an error."""
    parser = FrameParser(max_payload_length=max_payload_length, extra_payload_types=extra_payload_types)
    yield from parser.feed(data)
    parser.close()


class FrameParser:
    """Splits a byte stream (a TCP connection) into V2GTP frames, whatever the chunking.

    ``feed`` takes the bytes as they arrive and returns the frames they complete; ``close`` at the
    end of the stream raises :class:`V2GTPTruncatedError` if a frame is incomplete. A header is
    checked as soon as its 8 bytes are in. A bad header raises at once, unless the same ``feed``
    completed frames before it: those are returned and the error is raised by the next call. After
    an error the parser stays failed (the stream is out of step: close the connection) and raises
    it again on each call.
    """

    def __init__(
        self,
        *,
        max_payload_length: int = DEFAULT_MAX_PAYLOAD_LENGTH,
        extra_payload_types: Collection[int] = (),
    ) -> None:
        self.max_payload_length = max_payload_length
        self.extra_payload_types = frozenset(extra_payload_types)
        self._buffer = bytearray()
        self._header: Header | None = None
        self._consumed = 0  # stream offset of the first buffered byte
        self._error: V2GTPError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet part of a returned frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        if self._error is not None:
            raise self._error
        self._buffer += data
        frames: list[Frame] = []
        start = 0
        buf = self._buffer
        try:
            while True:
                if self._header is None:
                    if len(buf) - start < HEADER_LENGTH:
                        break
                    self._header = parse_header(
                        bytes(buf[start : start + HEADER_LENGTH]),  # a copy: buf is resized below
                        max_payload_length=self.max_payload_length,
                        extra_payload_types=self.extra_payload_types,
                        offset=self._consumed + start,
                    )
                end = start + HEADER_LENGTH + self._header.payload_length
                if len(buf) < end:
                    break
                frames.append(Frame(self._header.payload_type, bytes(buf[start + HEADER_LENGTH : end])))
                self._header = None
                start = end
        except V2GTPError as exc:
            self._error = exc
            if not frames:
                raise
            # the frames before the bad header are sound: deliver them, fail on the next call
        finally:
            if start:
                del buf[:start]
                self._consumed += start
        return frames

    def close(self) -> None:
        """End of stream: fails if a frame was begun and not finished."""
        if self._error is not None:
            raise self._error
        if self._buffer:
            if self._header is None:
                what = f"{len(self._buffer)} of the {HEADER_LENGTH} header bytes"
            else:
                what = f"{len(self._buffer) - HEADER_LENGTH} of {self._header.payload_length} payload bytes"
            self._error = V2GTPTruncatedError(
                f"V2GTP stream ended inside a frame at byte {self._consumed}: {what}",
                self._consumed + len(self._buffer),
            )
            raise self._error


# ----------------------------------------------------------------------------------------------
# SDP (SECC Discovery Protocol) payloads: request 2 bytes (security, transport protocol), response
# 20 bytes (SECC IPv6 address, port, security, transport protocol)


class Security(IntEnum):
    """SDP security byte: TLS or not."""

    TLS = 0x00
    NO_TRANSPORT_SECURITY = 0x10


class TransportProtocol(IntEnum):
    """SDP transport protocol byte."""

    TCP = 0x00
    UDP = 0x10  # reserved


@dataclass(frozen=True, slots=True)
class SDPRequest:
    """The EVCC's SDP request (payload type 0x9000): the security and transport it asks for."""

    security: Security
    transport_protocol: TransportProtocol = TransportProtocol.TCP

    def to_payload(self) -> bytes:
        return bytes((self.security, self.transport_protocol))

    @classmethod
    def from_payload(cls, payload: bytes) -> SDPRequest:
        if len(payload) != 2:
            raise V2GTPLengthError(f"an SDP request payload has 2 bytes, not {len(payload)}", HEADER_LENGTH)
        return cls(_enum(Security, payload[0], 0), _enum(TransportProtocol, payload[1], 1))


@dataclass(frozen=True, slots=True)
class SDPResponse:
    """The SECC's SDP response (payload type 0x9001): where and how to connect."""

    address: ipaddress.IPv6Address
    port: int
    security: Security
    transport_protocol: TransportProtocol = TransportProtocol.TCP

    def to_payload(self) -> bytes:
        if not 0 <= self.port <= 0xFFFF:
            raise V2GTPError(f"SDP response port {self.port} does not fit in 16 bits")
        return (
            self.address.packed
            + self.port.to_bytes(2, "big")
            + bytes((self.security, self.transport_protocol))
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> SDPResponse:
        if len(payload) != 20:
            raise V2GTPLengthError(f"an SDP response payload has 20 bytes, not {len(payload)}", HEADER_LENGTH)
        return cls(
            ipaddress.IPv6Address(payload[:16]),
            int.from_bytes(payload[16:18], "big"),
            _enum(Security, payload[18], 18),
            _enum(TransportProtocol, payload[19], 19),
        )


_E = TypeVar("_E", bound=IntEnum)


def _enum(kind: type[_E], value: int, at: int) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(f"{m.value:#04x} ({m.name})" for m in kind)
        raise V2GTPError(
            f"SDP {kind.__name__} byte {value:#04x} at payload byte {at} is none of {allowed}",
            HEADER_LENGTH + at,
        ) from None
