"""OCPP-J RPC frames, sans-IO: parse a text frame into a call, a result or an error, or say which
CallError answers it (OCPP 2.0.1 Part 4, 4.1-4.2).

A CALL is ``[2, messageId, action, payload]``, a CALLRESULT ``[3, messageId, payload]``, a
CALLERROR ``[4, messageId, errorCode, errorDescription, errorDetails]``; messageId is a string of
at most 36 characters. OCPP 2.1 (Part 4, 4.1) adds a CALLRESULTERROR
``[5, messageId, errorCode, errorDescription, errorDetails]`` (the answer to a CALLRESULT its receiver
could not process) and a SEND ``[6, messageId, action, payload]`` (a message without an answer); a
version reads them only when its ``message_types`` include them. What cannot be read gets:

- ``RpcFrameworkError`` (4.2.3: "Content of the call is not a valid RPC Request, for example:
  MessageId could not be read") with messageId ``"-1"`` when the id cannot be read (not JSON, not
  an array, no string id);
- ``MessageTypeNotSupported`` for a MessageTypeId other than 2, 3, 4;
- ``FormatViolation`` for a frame longer than the bridge's limit (the id is read from the first
  bytes when it can be) and for a payload that is not a JSON object.

Payload validation against the JSON schemas of the ``ocpp`` package maps the schema keyword that
failed to the 2.0.1 error code: ``required`` -> OccurrenceConstraintViolation, ``type``,
``maxLength``/``minLength``, ``maxItems``/``minItems`` -> TypeConstraintViolation (the datatype's
length is part of its type, e.g. ``string[0..36]``), ``enum``, ``maximum``/``minimum`` ->
PropertyConstraintViolation, anything else (``additionalProperties``, patterns) ->
FormatViolation. The details name the JSON path of the field, never echo the payload.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ocpp.messages import get_validator  # type: ignore[import-untyped]

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4
CALL_RESULT_ERROR, SEND = 5, 6  # OCPP 2.1 only
RPC_TYPES_201: frozenset[int] = frozenset({CALL, CALL_RESULT, CALL_ERROR})
RPC_TYPES_21: frozenset[int] = RPC_TYPES_201 | {CALL_RESULT_ERROR, SEND}
MESSAGE_ID_MAX = 36
UNKNOWN_ID = "-1"

# OCPP 2.0.1 Part 4, 4.2.3 (1.6 spells two of them differently: FormationViolation, OccurenceConstraintViolation)
FORMAT_VIOLATION = "FormatViolation"
GENERIC_ERROR = "GenericError"
INTERNAL_ERROR = "InternalError"
MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
NOT_IMPLEMENTED = "NotImplemented"  # the action is not known
NOT_SUPPORTED = "NotSupported"  # the action is known but not supported here
OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
PROTOCOL_ERROR = "ProtocolError"
RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
SECURITY_ERROR = "SecurityError"
TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"

_SCHEMA_CODES = {
    "required": OCCURRENCE_CONSTRAINT_VIOLATION,
    "type": TYPE_CONSTRAINT_VIOLATION,
    "maxLength": TYPE_CONSTRAINT_VIOLATION,
    "minLength": TYPE_CONSTRAINT_VIOLATION,
    "maxItems": TYPE_CONSTRAINT_VIOLATION,
    "minItems": TYPE_CONSTRAINT_VIOLATION,
    "enum": PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": PROPERTY_CONSTRAINT_VIOLATION,
}
_ACTION_NAME = re.compile(r"[A-Za-z0-9]{1,64}")  # schema files are looked up by action name
_ID_PREFIX = re.compile(r'\s*\[\s*[2-6]\s*,\s*"([^"\\]{1,36})"')
_DESCRIPTION_MAX = 255


@dataclass(frozen=True, slots=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    unique_id: str
    error_code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResultError:
    """OCPP 2.1: the peer could not process the CALLRESULT with this messageId."""

    unique_id: str
    error_code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Send:
    """OCPP 2.1: a message that gets no answer (e.g. NotifyPeriodicEventStream)."""

    unique_id: str
    action: str
    payload: dict[str, Any]


Frame = Call | CallResult | CallError | CallResultError | Send


class CallErrorReply(Exception):
    """The CallError that answers a frame or a call (``reason`` labels the metrics)."""

    def __init__(
        self,
        error_code: str,
        description: str,
        *,
        unique_id: str = UNKNOWN_ID,
        details: dict[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.unique_id = unique_id
        self.error_code = error_code
        self.description = description[:_DESCRIPTION_MAX]
        self.details = details or {}
        self.reason = reason or error_code

    def frame(self, unique_id: str | None = None) -> str:
        return encode_call_error(unique_id or self.unique_id, self.error_code, self.description, self.details)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return _dumps([CALL, unique_id, action, payload])


def encode_call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return _dumps([CALL_RESULT, unique_id, payload])


def encode_call_error(
    unique_id: str, error_code: str, description: str, details: dict[str, Any] | None = None
) -> str:
    return _dumps([CALL_ERROR, unique_id, error_code, description[:_DESCRIPTION_MAX], details or {}])


def encode_call_result_error(
    unique_id: str, error_code: str, description: str, details: dict[str, Any] | None = None
) -> str:
    """OCPP 2.1 CALLRESULTERROR."""
    return _dumps([CALL_RESULT_ERROR, unique_id, error_code, description[:_DESCRIPTION_MAX], details or {}])


def _message_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MESSAGE_ID_MAX:
        return value
    return None


def parse_frame(text: str | bytes, max_bytes: int, message_types: frozenset[int] = RPC_TYPES_201) -> Frame:
    """The frame in ``text``, or :class:`CallErrorReply` saying how to answer it; ``message_types``
    are the MessageTypeIds the version has (OCPP 2.1 adds CALLRESULTERROR and SEND)."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        head = text[:80] if isinstance(text, str) else text[:80].decode("utf-8", "replace")
        match = _ID_PREFIX.match(head)
        raise CallErrorReply(
            FORMAT_VIOLATION,
            f"message of {size} bytes exceeds the limit of {max_bytes} bytes",
            unique_id=match.group(1) if match else UNKNOWN_ID,
            reason="oversized",
        )
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise CallErrorReply(
            RPC_FRAMEWORK_ERROR, "message is not valid JSON", reason="malformed-json"
        ) from None
    if not isinstance(message, list) or not message:
        raise CallErrorReply(RPC_FRAMEWORK_ERROR, "message is not an OCPP-J array", reason="not-rpc")
    kind = message[0]
    unique_id = _message_id(message[1]) if len(message) > 1 else None
    if unique_id is None:
        raise CallErrorReply(
            RPC_FRAMEWORK_ERROR,
            "messageId missing, not a string or longer than 36 characters",
            reason="not-rpc",
        )
    if type(kind) is not int:
        raise CallErrorReply(
            RPC_FRAMEWORK_ERROR, "MessageTypeId is not a number", unique_id=unique_id, reason="not-rpc"
        )
    if kind not in message_types:
        raise CallErrorReply(
            MESSAGE_TYPE_NOT_SUPPORTED,
            f"MessageTypeId {kind} is not supported",
            unique_id=unique_id,
            reason="message-type",
        )
    if kind in (CALL, SEND):
        if len(message) != 4 or not isinstance(message[2], str) or not message[2]:
            raise CallErrorReply(
                RPC_FRAMEWORK_ERROR,
                f"a {'CALL' if kind == CALL else 'SEND'} is [{kind}, messageId, action, payload]",
                unique_id=unique_id,
                reason="not-rpc",
            )
        if not isinstance(message[3], dict):
            raise CallErrorReply(
                FORMAT_VIOLATION, "the payload is not a JSON object", unique_id=unique_id, reason="schema"
            )
        if kind == SEND:
            return Send(unique_id, message[2], message[3])
        return Call(unique_id, message[2], message[3])
    if kind == CALL_RESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            raise CallErrorReply(
                RPC_FRAMEWORK_ERROR,
                "a CALLRESULT is [3, messageId, payload]",
                unique_id=unique_id,
                reason="not-rpc",
            )
        return CallResult(unique_id, message[2])
    if kind in (CALL_ERROR, CALL_RESULT_ERROR):
        if len(message) != 5 or not isinstance(message[2], str) or not isinstance(message[3], str):
            name = "CALLERROR" if kind == CALL_ERROR else "CALLRESULTERROR"
            raise CallErrorReply(
                RPC_FRAMEWORK_ERROR,
                f"a {name} is [{kind}, messageId, errorCode, errorDescription, errorDetails]",
                unique_id=unique_id,
                reason="not-rpc",
            )
        details = message[4] if isinstance(message[4], dict) else {}
        if kind == CALL_RESULT_ERROR:
            return CallResultError(unique_id, message[2], message[3], details)
        return CallError(unique_id, message[2], message[3], details)
    raise CallErrorReply(
        MESSAGE_TYPE_NOT_SUPPORTED,
        f"MessageTypeId {kind} is not supported",
        unique_id=unique_id,
        reason="message-type",
    )


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``#/definitions/...`` references replaced by the definitions (recursive
    ones stay references): the same constraints, validated without a reference look-up per field,
    which halves the validation time of an OCPP message."""
    definitions = schema.get("definitions", {})

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref.removeprefix("#/definitions/")
                if name in seen or name not in definitions:
                    return node
                target = walk(definitions[name], seen | {name})
                siblings = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
                return {**target, **siblings}
            return {k: walk(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return node

    inlined: dict[str, Any] = {k: walk(v, frozenset()) for k, v in schema.items() if k != "definitions"}
    if '"$ref"' in json.dumps(inlined):  # a recursive definition: keep them for its references
        inlined["definitions"] = definitions
    return inlined


_VALIDATORS: dict[tuple[str, int, str], Any] = {}

# CALLRESULT payloads that passed their schema: (version, action, canonical JSON)
_KNOWN_VALID: set[tuple[str, str, str]] = set()
_KNOWN_VALID_MAX_CHARS = 512
_KNOWN_VALID_MAX_ENTRIES = 4096


def _validator(version: str, message_type: int, action: str) -> Any:
    key = (version, message_type, action)
    found = _VALIDATORS.get(key)
    if found is None:
        original = get_validator(message_type, action, version)  # the ocpp package's schema and draft
        found = _VALIDATORS[key] = type(original)(_inline(original.schema))
    return found


def _path(error: Any) -> str:
    parts = [str(p) for p in error.absolute_path]
    return "/".join(parts) if parts else "(payload)"


def validate(
    version: str, message_type: int, action: str, payload: dict[str, Any], unique_id: str = UNKNOWN_ID
) -> None:
    """Check ``payload`` against the JSON schema of ``action`` (request for a CALL, response for a
    CALLRESULT); a violation raises :class:`CallErrorReply` with the 2.0.1 error code."""
    if not _ACTION_NAME.fullmatch(action):
        raise CallErrorReply(NOT_IMPLEMENTED, f"unknown action {action[:40]!r}", unique_id=unique_id)
    known = None
    if message_type == CALL_RESULT:
        # answers come from a small set ({"status": "Accepted"}, the Authorize status pairs): one
        # that validated before is valid again, at 1/20 of the cost of the schema walk
        known = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        if len(known) > _KNOWN_VALID_MAX_CHARS:
            known = None
        elif (version, action, known) in _KNOWN_VALID:
            return
    errors = list(_validator(version, message_type, action).iter_errors(payload))
    if not errors:
        if known is not None:
            if len(_KNOWN_VALID) >= _KNOWN_VALID_MAX_ENTRIES:
                _KNOWN_VALID.clear()
            _KNOWN_VALID.add((version, action, known))
        return
    # the shallowest error names the field the sender got wrong (not a branch of an anyOf)
    error = min(errors, key=lambda e: (len(e.absolute_path), e.validator != "required"))
    code = _SCHEMA_CODES.get(str(error.validator), FORMAT_VIOLATION)
    field = _path(error)
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        description = f"{action}: required field {missing!r} missing" + (
            f" in {field}" if field != "(payload)" else ""
        )
    elif error.validator == "additionalProperties":
        description = f"{action}: {field}: {str(error.message)[:150]}"
    elif error.validator in ("maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum"):
        description = f"{action}: {field} violates {error.validator} {error.validator_value}"
    elif error.validator == "enum":
        description = f"{action}: {field} is not one of {', '.join(map(str, error.validator_value))[:150]}"
    elif error.validator == "type":
        description = f"{action}: {field} is not of type {error.validator_value}"
    else:
        description = f"{action}: {field} is not valid ({error.validator})"
    raise CallErrorReply(code, description, unique_id=unique_id, details={"field": field}, reason="schema")


def has_schema(version: str, message_type: int, action: str) -> bool:
    """Whether the ``ocpp`` package has a JSON schema for the action (it knows the action)."""
    if not _ACTION_NAME.fullmatch(action):
        return False
    try:
        get_validator(message_type, action, version)
    except (OSError, ValueError):
        return False
    return True


__all__ = [
    "CALL",
    "CALL_ERROR",
    "CALL_RESULT",
    "CALL_RESULT_ERROR",
    "RPC_TYPES_21",
    "RPC_TYPES_201",
    "SEND",
    "Call",
    "CallError",
    "CallErrorReply",
    "CallResult",
    "CallResultError",
    "Frame",
    "Send",
    "encode_call",
    "encode_call_error",
    "encode_call_result",
    "encode_call_result_error",
    "has_schema",
    "parse_frame",
    "validate",
]
