"""Development tool: V2GTP traffic of public charging-session captures -> ``v2gtp_captures.json``.

Never run by the tests (the captures are not in the repository; the tests read the JSON).

    python tests/vectors/extract_v2gtp_captures.py OUT.json SOURCE=FILE.pcapng [SOURCE=FILE ...]

SOURCE is the capture's provenance (``owner/repo@commit:path``). For each capture it keeps the
UDP payloads to or from port 15118 that start with a V2GTP header (SDP request and response) and,
per TCP connection and direction, the TCP payload bytes in sequence-number order (retransmissions
dropped): the byte stream a V2GTP receiver reads from its socket. Ethernet (optionally 802.1Q) and
IPv6 only, as on the PLC link; pcap and pcapng.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ETHERTYPE_VLAN = 0x8100
ETHERTYPE_IPV6 = 0x86DD
PCAPNG_SECTION = 0x0A0D0D0A
PCAPNG_ENHANCED_PACKET = 6
PCAPNG_SIMPLE_PACKET = 3


def _pcapng_packets(data: bytes) -> Iterator[bytes]:
    i, order = 0, "<"
    while i + 12 <= len(data):
        (block_type,) = struct.unpack_from("<I", data, i)
        if block_type == PCAPNG_SECTION:
            order = "<" if data[i + 8 : i + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        block_type, length = struct.unpack_from(order + "II", data, i)
        body = data[i + 8 : i + length - 4]
        if block_type == PCAPNG_ENHANCED_PACKET:
            captured = struct.unpack_from(order + "I", body, 12)[0]
            yield body[20 : 20 + captured]
        elif block_type == PCAPNG_SIMPLE_PACKET:
            yield body[4:]
        i += length


def _pcap_packets(data: bytes) -> Iterator[bytes]:
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    i = 24
    while i + 16 <= len(data):
        captured = struct.unpack_from(order + "I", data, i + 8)[0]
        yield data[i + 16 : i + 16 + captured]
        i += 16 + captured


def packets(data: bytes) -> Iterator[bytes]:
    if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        return _pcap_packets(data)
    return _pcapng_packets(data)


def ipv6_transport(frame: bytes) -> tuple[int, str, str, bytes] | None:
    """(next header, source, destination, transport segment) of an Ethernet/IPv6 frame."""
    if len(frame) < 14 + 40:
        return None
    ethertype, offset = struct.unpack_from(">H", frame, 12)[0], 14
    if ethertype == ETHERTYPE_VLAN:
        ethertype, offset = struct.unpack_from(">H", frame, 16)[0], 18
    if ethertype != ETHERTYPE_IPV6:
        return None
    ip = frame[offset:]
    length = struct.unpack_from(">H", ip, 4)[0]
    return ip[6], ip[8:24].hex(), ip[24:40].hex(), ip[40 : 40 + length]


def extract(data: bytes) -> dict[str, Any]:
    datagrams: list[str] = []
    segments: dict[tuple[int, int, str], dict[int, bytes]] = {}
    for frame in packets(data):
        parsed = ipv6_transport(frame)
        if parsed is None:
            continue
        next_header, src, dst, seg = parsed
        if next_header == 17 and len(seg) >= 8:
            sport, dport, ulen = struct.unpack_from(">HHH", seg, 0)
            payload = seg[8:ulen]
            if 15118 in (sport, dport) and payload[:2] == b"\x01\xfe":
                datagrams.append(payload.hex())
        elif next_header == 6 and len(seg) >= 20:
            sport, dport, seq = struct.unpack_from(">HHI", seg, 0)
            payload = seg[(seg[12] >> 4) * 4 :]
            if payload:
                segments.setdefault((sport, dport, src + dst), {}).setdefault(seq, payload)
    streams = [
        {"source_port": sport, "destination_port": dport, "hex": b"".join(s[k] for k in sorted(s)).hex()}
        for (sport, dport, _), s in segments.items()
    ]
    return {"sdp_datagrams": datagrams, "tcp_streams": streams}


def main(argv: list[str]) -> int:
    out, captures = Path(argv[0]), []
    for arg in argv[1:]:
        source, _, path = arg.partition("=")
        captures.append({"source": source, **extract(Path(path).read_bytes())})
    out.write_text(json.dumps(captures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
