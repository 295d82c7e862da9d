"""Drive both machines along a chosen path of a transition table.

The EV machine builds every request (each one is the real thing, signatures included), but the
path chooses which request comes next; before each request the walk arranges what makes the
exchange take the transition's outcome (the SECC's authorization decision and processing states,
the EV's payment option, energy mode, ChargeProgress, ChargingSession). Both machines follow the
same table, so both must end up in the transition's next state.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from session_pki import Backend, credentials

import v2g.session.evcc as evcc_module
from v2g.session import (
    CertificateInstallationRequested,
    EvccSession,
    EvPolicy,
    EvseState,
    SeccConfig,
    SeccSession,
)
from v2g.session.tables import START, Table, Transition

AC_MODE, DC_MODE = "AC_three_phase_core", "DC_extended"


def paths(table: Table, avoid: frozenset[str] = frozenset()) -> dict[str, list[Transition]]:
    """The shortest path (list of transitions) from START to every state, without the outcomes
    in ``avoid``."""
    found: dict[str, list[Transition]] = {START: []}
    queue = deque([START])
    while queue:
        state = queue.popleft()
        for t in table:
            if t.state == state and t.next not in found and t.outcome not in avoid:
                found[t.next] = [*found[state], t]
                queue.append(t.next)
    return found


def needs_pnc(state: str, outcome: str = "") -> bool:
    """Metering receipts are asked of Plug & Charge sessions only."""
    return outcome == "ReceiptRequired" or state.startswith("MeteringReceipt")


def path_to(table: Table, state: str) -> list[Transition]:
    avoid = frozenset({"ExternalPayment"}) if needs_pnc(state) else frozenset()
    return paths(table, avoid)[state]


def through(table: Table, t: Transition) -> list[Transition]:
    """A shortest path to ``t.state`` (through Plug & Charge where ``t`` needs it), then ``t``."""
    avoid = frozenset({"ExternalPayment"}) if needs_pnc(t.state, t.outcome) else frozenset()
    return [*paths(table, avoid)[t.state], t]


class Walk:
    """Both machines after replaying a path, and the states they were in after each step."""

    def __init__(self, table: Table, path: list[Transition]) -> None:
        self.table, self.path = table, path
        family = table.name
        uses = {t.request for t in path}
        outcomes = {t.outcome for t in path}
        ac = "AC" in outcomes or any(t.next.endswith("AC") for t in path)
        self.protocol = ("iso20-ac" if ac else "iso20-dc") if family == "iso20" else family
        pnc = (
            "Contract" in outcomes
            or "ReceiptRequired" in outcomes
            or bool(uses & {"PaymentDetailsReq", "CertificateInstallationReq", "CertificateUpdateReq"})
        )
        kind = "iso20-cm" if family == "iso20" else "iso2"
        installs = "CertificateInstallationReq" in uses
        policy = EvPolicy(
            protocols=(self.protocol,),
            energy_mode=AC_MODE if ac else DC_MODE,
            payment="Contract" if pnc else "ExternalPayment",
            credentials=credentials(kind, with_contract=not installs) if family != "din" else None,
            install_certificate="always" if "CertificateUpdateReq" in uses else "missing",
            precharge_tolerance=1000.0,
        )
        self.secc = SeccSession(SeccConfig(), evse=EvseState(follow_ev_targets=True))
        self.backend = Backend(kind) if family != "din" else None
        self.step = 0
        self.states: list[tuple[str, str]] = []
        original = evcc_module._handler_for
        evcc_module._handler_for = self._patched(original)  # type: ignore[assignment]
        try:
            self.ev = EvccSession(policy)
            self._run()
        finally:
            evcc_module._handler_for = original  # type: ignore[assignment]

    def _patched(self, original: Any) -> Any:
        def factory(session: EvccSession, protocol: Any) -> Any:
            handler = original(session, protocol)
            build = handler.build

            def next_request(*_: Any) -> tuple[str, float] | None:
                if self.step >= len(self.path):
                    return None
                t = self.path[self.step]
                self._arrange(t)
                return t.request, 0.0

            def build_step(name: str) -> tuple[Any, bytes]:
                t = self.path[self.step]
                self.step += 1
                for method in ("req_PowerDeliveryReq", "req_SessionStopReq"):
                    if name == method[4:]:
                        self._steer(handler, method, t.outcome)
                return build(name)  # type: ignore[no-any-return]

            handler.next_request = next_request
            handler.build = build_step
            return handler

        return factory

    def _steer(self, handler: Any, method: str, outcome: str) -> None:
        make = getattr(type(handler), method)

        def steered() -> Any:
            message = make(handler)
            body = message if self.table.name == "iso20" else _body(message, method[4:])
            if method == "req_SessionStopReq" and hasattr(body, "ChargingSession"):
                body.ChargingSession = outcome
            if method == "req_PowerDeliveryReq":
                if hasattr(body, "ChargeProgress"):
                    body.ChargeProgress = outcome
                else:
                    body.ReadyToChargeState = outcome == "Start"
            return message

        setattr(handler, method, steered)

    def _arrange(self, t: Transition) -> None:
        o, e, secc, ev = t.outcome, self.secc.evse, self.secc, self.ev
        if t.request in ("AuthorizationReq", "ContractAuthenticationReq"):
            secc.decision = None
            if o == "Finished":
                secc.authorize()
        if t.request in ("CableCheckReq", "DC_CableCheckReq"):
            e.cable_check_processing = o
        if t.request in ("ChargeParameterDiscoveryReq", "ScheduleExchangeReq"):
            e.schedule_processing = "Ongoing" if o == "Ongoing" else "Finished"
            if o in ("AC", "DC"):
                ev.policy.energy_mode = AC_MODE if o == "AC" else DC_MODE
        if t.request in ("PaymentServiceSelectionReq", "ServicePaymentSelectionReq"):
            ev.data.payment = o
        if t.request in ("ChargingStatusReq", "CurrentDemandReq"):
            e.receipt_required = o == "ReceiptRequired"
        if t.request == "ServiceSelectionReq":
            ev.data.parameter_set_id = (
                1  # the one set this charger offers, also when ServiceDetail is skipped
            )

    def _run(self) -> None:
        now = 0.0
        for _ in range(500):
            data = self.ev.data_to_send()
            if not data:
                break
            now += 0.01
            for event in self.secc.receive_data(data, now):
                if isinstance(event, CertificateInstallationRequested) and self.backend is not None:
                    self.secc.certificate_installation_response(self.backend.answer(event.exi_request))
            self.ev.receive_data(self.secc.data_to_send(), now)
            self.states.append((self.ev.state, self.secc.state))


def _body(message: Any, name: str) -> Any:
    body = getattr(message, "Body", None)
    return getattr(body, name) if body is not None else message
