"""The OCPP versions the bridge speaks, keyed by websocket subprotocol: ``ocpp2.0.1``, ``ocpp2.1``
and ``ocpp1.6`` (Plug & Charge over DataTransfer, the 1.6 security extensions).

A version is one :class:`OcppProtocol` entry: its schema version for the ``ocpp`` package's
validators, the calls a charger may send, the calls routed to the core, the standalone answers,
the OCPP-J message types it has and its :class:`pnc.server.ocpp.dialect.Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pnc.server.ocpp import v16, v21, v201
from pnc.server.ocpp.dialect import DEFAULT_DIALECT, CoreRoute, Dialect
from pnc.server.ocpp.frames import RPC_TYPES_21, RPC_TYPES_201


class StandaloneAnswers(Protocol):
    async def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class OcppProtocol:
    subprotocol: str  # the websocket subprotocol, e.g. "ocpp2.0.1"
    version: str  # the ocpp package's schema version, e.g. "2.0.1"
    known_actions: frozenset[str]
    charger_actions: frozenset[str]  # what a charging station may send to the CSMS
    csms_actions: frozenset[str]  # what a CSMS may send to a charging station
    core_routes: Mapping[str, CoreRoute]
    standalone: Callable[[str, int], StandaloneAnswers]  # (station id, heartbeat interval)
    message_types: frozenset[int] = RPC_TYPES_201  # OCPP-J MessageTypeIds (2.1 adds 5 and 6)
    dialect: Dialect = DEFAULT_DIALECT


PROTOCOLS: dict[str, OcppProtocol] = {
    v201.SUBPROTOCOL: OcppProtocol(
        subprotocol=v201.SUBPROTOCOL,
        version=v201.VERSION,
        known_actions=v201.KNOWN_ACTIONS,
        charger_actions=v201.CHARGER_ACTIONS,
        csms_actions=v201.CSMS_ACTIONS,
        core_routes=v201.CORE_ROUTES,
        standalone=v201.StandaloneCsms,
    ),
    v21.SUBPROTOCOL: OcppProtocol(
        subprotocol=v21.SUBPROTOCOL,
        version=v21.VERSION,
        known_actions=v21.KNOWN_ACTIONS,
        charger_actions=v21.CHARGER_ACTIONS,
        csms_actions=v21.CSMS_ACTIONS,
        core_routes=v21.CORE_ROUTES,
        standalone=v21.StandaloneCsms21,
        message_types=RPC_TYPES_21,
        dialect=v21.DIALECT,
    ),
    v16.SUBPROTOCOL: OcppProtocol(
        subprotocol=v16.SUBPROTOCOL,
        version=v16.VERSION,
        known_actions=v16.KNOWN_ACTIONS,
        charger_actions=v16.CHARGER_ACTIONS,
        csms_actions=v16.CSMS_ACTIONS,
        core_routes=v16.CORE_ROUTES,
        standalone=v16.StandaloneCsms16,
        dialect=v16.DIALECT,
    ),
}


def choose(offered: list[str]) -> OcppProtocol | None:
    """The protocol for the subprotocols a client offers: the first it lists that the bridge speaks."""
    for name in offered:
        found = PROTOCOLS.get(name)
        if found is not None:
            return found
    return None


__all__ = ["PROTOCOLS", "OcppProtocol", "StandaloneAnswers", "choose"]
