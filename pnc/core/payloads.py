"""Reading OCPP JSON payloads (camelCase dicts, as on the wire) with errors that name the field.

Only the semantics the core needs are checked here; an adapter may have validated the JSON schema
already, the REST adapter has not, so every field is checked as if it had not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pnc.core.errors import PayloadError


def require_object(payload: object, field: str = "payload") -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise PayloadError(field, f"expected a JSON object, got {_kind(payload)}")
    return payload


def object_field(
    payload: Mapping[str, Any], name: str, *, path: str = "", required: bool = True
) -> Mapping[str, Any] | None:
    value = payload.get(name)
    where = path + name
    if value is None:
        if required:
            raise PayloadError(where, "is required")
        return None
    return require_object(value, where)


def text_field(
    payload: Mapping[str, Any],
    name: str,
    *,
    path: str = "",
    max_length: int,
    required: bool = True,
    choices: tuple[str, ...] = (),
) -> str | None:
    value = payload.get(name)
    where = path + name
    if value is None:
        if required:
            raise PayloadError(where, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadError(where, f"expected a string, got {_kind(value)}")
    if len(value) > max_length:
        raise PayloadError(where, f"has {len(value)} characters; at most {max_length} are allowed")
    if choices and value not in choices:
        raise PayloadError(where, f"{_show(value)} is not one of {', '.join(choices)}")
    return value


def required_text(
    payload: Mapping[str, Any], name: str, *, path: str = "", max_length: int, choices: tuple[str, ...] = ()
) -> str:
    value = text_field(payload, name, path=path, max_length=max_length, choices=choices)
    assert value is not None
    return value


def list_field(
    payload: Mapping[str, Any], name: str, *, path: str = "", min_items: int, max_items: int
) -> list[Any] | None:
    value = payload.get(name)
    where = path + name
    if value is None:
        return None
    if not isinstance(value, list):
        raise PayloadError(where, f"expected an array, got {_kind(value)}")
    if not min_items <= len(value) <= max_items:
        raise PayloadError(where, f"has {len(value)} entries; {min_items} to {max_items} are allowed")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


__all__ = ["list_field", "object_field", "require_object", "required_text", "text_field"]
