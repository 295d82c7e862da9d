"""The generated fast codec behind ``v2g.decode`` and ``v2g.encode`` (documents), with the
reference interpreter as its fallback."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from v2g.errors import V2GError
from v2g.exi.fastrt import Fallback

_MODULES: dict[str, ModuleType] = {}

# what the generated code may raise on input it does not handle; the reference path then decides
# (a V2GError comes from a part the interpreter decoded; the interpreter redoes the message to place it)
FALLBACK = (
    Fallback,
    V2GError,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    UnicodeError,
)


def codec(protocol: str) -> ModuleType:
    mod = _MODULES.get(protocol)
    if mod is None:
        mod = importlib.import_module("v2g._tables." + protocol.replace("-", "_") + "_codec")
        _MODULES[protocol] = mod
    return mod


def decode_document(data: bytes, protocol: str) -> Any | None:
    """The root object, or None when the reference interpreter must decide."""
    try:
        return codec(protocol).decode_document(data)
    except FALLBACK:
        return None
    except RecursionError:
        return None


def encode_document(msg: Any, protocol: str) -> bytes | None:
    """The EXI bytes of a root object, or None when the reference path must decide."""
    try:
        data: bytes = codec(protocol).encode_document(msg)
    except FALLBACK:
        return None
    except RecursionError:
        return None
    return data
