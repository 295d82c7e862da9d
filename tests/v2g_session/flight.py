"""Rewriting messages in flight between the machines (loopback filters) for the error tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import v2g
from v2g import v2gtp


def name_of(message: Any) -> str:
    body = getattr(message, "Body", None)
    if body is None:
        element = type(message).ELEMENT
        return element[1] if element else type(message).__name__
    return next(f.name for f in type(body).FIELDS if getattr(body, f.name) is not None)


def body_of(message: Any) -> Any:
    body = getattr(message, "Body", None)
    return message if body is None else getattr(body, name_of(message))


def decode_frame(frame: v2gtp.Frame, family: str) -> Any:
    protocol = v2gtp.PROTOCOL_BY_PAYLOAD_TYPE.get(frame.payload_type) or family
    try:
        return v2g.decode(frame.payload, protocol)
    except v2g.V2GError:
        return v2g.decode(frame.payload, "sap")


def rewrite(
    family: str, name: str, change: Callable[[Any, Any], Any], times: int = 1
) -> Callable[[bytes], bytes]:
    """A filter that applies ``change(message, body)`` to the first ``times`` messages called
    ``name``; ``change`` may return replacement bytes (a whole frame) instead of editing."""
    left = [times]

    def f(data: bytes) -> bytes:
        out = b""
        for frame in v2gtp.iter_frames(data):
            message = decode_frame(frame, family)
            if left[0] and name_of(message) == name:
                left[0] -= 1
                replaced = change(message, body_of(message))
                if isinstance(replaced, bytes):
                    out += replaced
                    continue
                out += v2gtp.build_frame(frame.payload_type, v2g.encode(message))
            else:
                out += frame.to_bytes()
        return out

    return f
