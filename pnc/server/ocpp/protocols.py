"""The OCPP versions the bridge speaks, keyed by websocket subprotocol.

Adding a version (``ocpp2.1``, ``ocpp1.6`` with Plug & Charge over DataTransfer) is one
:class:`OcppProtocol` entry: its schema version for the ``ocpp`` package's validators, the calls a
charger may send, the Plug & Charge calls routed to the core, and the standalone answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pnc.server.ocpp import v201


class StandaloneAnswers(Protocol):
    async def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class OcppProtocol:
    subprotocol: str  # the websocket subprotocol, e.g. "ocpp2.0.1"
    version: str  # the ocpp package's schema version, e.g. "2.0.1"
    known_actions: frozenset[str]
    charger_actions: frozenset[str]  # what a charging station may send to the CSMS
    csms_actions: frozenset[str]  # what a CSMS may send to a charging station
    core_routes: Mapping[str, v201.CoreRoute]
    standalone: Callable[[str, int], StandaloneAnswers]  # (station id, heartbeat interval)


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
}


def choose(offered: list[str]) -> OcppProtocol | None:
    """The protocol for the subprotocols a client offers: the first it lists that the bridge speaks."""
    for name in offered:
        found = PROTOCOLS.get(name)
        if found is not None:
            return found
    return None


__all__ = ["PROTOCOLS", "OcppProtocol", "StandaloneAnswers", "choose"]
