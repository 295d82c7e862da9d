"""What one OCPP version does differently from OCPP 2.0.1 beyond its schemas: the questions a
:class:`pnc.server.ocpp.session.Session` asks its version's :class:`Dialect`.

Everything above the session speaks OCPP 2.0.1: the core answers 2.0.1 payloads, and the bridge's
calls to chargers (CertificateSigned, InstallCertificate, DeleteCertificate,
GetInstalledCertificateIds, TriggerMessage: :mod:`pnc.server.commands`, the REST API, the sign-job
runner) are named and shaped as in 2.0.1 whatever the charger speaks. A dialect

- puts such a call on the wire (:meth:`Dialect.call`): OCPP 1.6 wraps the Plug & Charge ones in
  DataTransfer or sends the security extension's message, OCPP 2.1 adjusts a few fields;
- names a charger's call for the metrics (:meth:`Dialect.label`) and the answer's outcome
  (:meth:`Dialect.outcome`), e.g. ``DataTransfer.Authorize`` / ``Rejected`` for OCPP 1.6;
- says which of a charger's calls proxy mode answers here instead of relaying them
  (:meth:`Dialect.is_local`);
- spells the CallError codes (:meth:`Dialect.error_code`; OCPP 1.6 has ``FormationViolation``).

The base class is OCPP 2.0.1 itself: names, payloads and codes unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pnc.server.context import CoreFacade

# (action, payload, timeout, metrics label) -> the charger's CallResult payload; validates the
# payload against the version's schema, raises what StationCaller.call raises
WireCall = Callable[[str, dict[str, Any], float, str], Awaitable[dict[str, Any]]]
# (core, station id, the charger's payload) -> the answer payload (the version's schema)
CoreRoute = Callable[[CoreFacade, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def certificate_signed_201(payload: dict[str, Any]) -> dict[str, Any]:
    """A CertificateSignedRequest as OCPP 2.0.1 has it: one V2G certificate type (a 2.1
    ``V2G20Certificate`` is a ``V2GCertificate``) and no ``requestId``."""
    out = {k: v for k, v in payload.items() if k != "requestId"}
    if out.get("certificateType") == "V2G20Certificate":
        out["certificateType"] = "V2GCertificate"
    return out


class Dialect:
    """OCPP 2.0.1: every hook is the identity (a CertificateSigned of a 2.1 request is made 2.0.1)."""

    async def call(
        self, wire: WireCall, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send the bridge's call ``action`` (OCPP 2.0.1 name and payload) and return the charger's
        answer as the OCPP 2.0.1 response payload."""
        if action == "CertificateSigned":
            payload = certificate_signed_201(payload)
        return await wire(action, payload, timeout, action)

    def label(self, action: str, payload: dict[str, Any]) -> str:
        """The ``action`` label of a charger's call in the metrics."""
        return action

    def outcome(self, action: str, answer: dict[str, Any]) -> str:
        """The ``outcome`` label of the bridge's answer to a charger's call."""
        return "CallResult"

    def is_local(self, action: str, payload: dict[str, Any], local_actions: frozenset[str]) -> bool:
        """Proxy mode: whether the bridge answers this call of the charger (else it is relayed)."""
        return action in local_actions

    def error_code(self, code: str) -> str:
        """The version's spelling of an OCPP 2.0.1 CallError code."""
        return code


DEFAULT_DIALECT = Dialect()

__all__ = ["DEFAULT_DIALECT", "CoreRoute", "Dialect", "WireCall", "certificate_signed_201"]
