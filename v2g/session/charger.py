"""What the charger (SECC) offers and what its power electronics report.

:class:`SeccConfig` is fixed for a session: identity, protocols, payment options, energy transfer
modes. :class:`EvseState` is live: the application updates it (``secc.evse.present_voltage = ...``)
as its hardware reports, and every response carries its current values.
"""

from __future__ import annotations

from dataclasses import dataclass

from v2g.session.errors import ConfigError
from v2g.session.protocols import protocols

#: ISO 15118-2 EnergyTransferModeType values (DIN names the DC ones the same way)
AC_MODES = ("AC_single_phase_core", "AC_three_phase_core")
DC_MODES = ("DC_core", "DC_extended", "DC_combo_core", "DC_unique")
PAYMENT_OPTIONS = ("Contract", "ExternalPayment")


@dataclass(frozen=True)
class SeccConfig:
    """The charger's side of a session.

    ``protocols``: what SupportedAppProtocol may choose (``din``, ``iso2``, ``iso20-ac``,
    ``iso20-dc``; the EV's priorities decide among them). ``energy_modes``: ISO 15118-2
    EnergyTransferMode names (an AC one enables AC, a DC one DC; -20 offers the AC and DC services
    accordingly). ``payment_options``: ``Contract`` (Plug & Charge) and/or ``ExternalPayment``.
    ``certificate_installation``: offer contract certificate installation (-2 service 2, -20
    CertificateInstallationService). ``session_id``: use this SessionID instead of 8 random bytes
    (replays, tests). ``verify_signatures``: check the EV's contract signatures (AuthorizationReq,
    MeteringReceiptReq) with :mod:`v2g.security` (needs ``cryptography``).
    """

    evse_id: str = "DE*PNC*E00001"
    protocols: tuple[str, ...] = ("iso20-dc", "iso20-ac", "iso2", "din")
    energy_modes: tuple[str, ...] = ("AC_three_phase_core", "DC_extended")
    payment_options: tuple[str, ...] = PAYMENT_OPTIONS
    certificate_installation: bool = True
    free_service: bool = False
    session_id: bytes | None = None
    sa_schedule_tuple_id: int = 1
    schedule_duration: int = 86400
    verify_signatures: bool = True
    max_payload_length: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        protocols(self.protocols)
        if not self.energy_modes:
            raise ConfigError("energy_modes needs at least one EnergyTransferMode")
        for mode in self.energy_modes:
            if mode not in AC_MODES + DC_MODES:
                raise ConfigError(
                    f"unknown EnergyTransferMode {mode!r}: use one of {', '.join(AC_MODES + DC_MODES)}"
                )
        if not self.payment_options or any(p not in PAYMENT_OPTIONS for p in self.payment_options):
            raise ConfigError(f"payment_options must be a non-empty subset of {PAYMENT_OPTIONS}")
        if self.session_id is not None and not 1 <= len(self.session_id) <= 8:
            raise ConfigError("a SessionID has 1 to 8 bytes")
        if not 1 <= self.sa_schedule_tuple_id <= 255:
            raise ConfigError("sa_schedule_tuple_id is 1..255")

    @property
    def ac(self) -> bool:
        return any(m in AC_MODES for m in self.energy_modes)

    @property
    def dc(self) -> bool:
        return any(m in DC_MODES for m in self.energy_modes)


@dataclass
class EvseState:
    """The charger's live values (V, A, W, Wh), read by every response.

    ``cable_check_processing`` / ``schedule_processing``: ``Ongoing`` while the isolation test runs
    or the charging schedule is not ready (the EV asks again), ``Finished`` otherwise.
    ``notification``: ``StopCharging`` asks the EV to stop (-20: EVSENotification Terminate).
    ``receipt_required``: ask a PnC EV for a signed meter reading in the next charge loop response
    (the machine clears it once asked). ``follow_ev_targets``: a simulated power stage; the machine
    sets the present voltage and current to the EV's targets within the limits and counts the
    meter up (for simulators and tests, never for real hardware).
    """

    present_voltage: float = 0.0
    present_current: float = 0.0
    max_voltage: float = 500.0
    min_voltage: float = 150.0
    max_current: float = 200.0
    min_current: float = 0.0
    max_power: float = 100_000.0
    peak_current_ripple: float = 2.0
    nominal_voltage: float = 230.0
    ac_max_current: float = 32.0
    ac_phases: int = 3
    nominal_frequency: float = 50.0
    isolation_status: str = "Valid"
    status_code: str = "EVSE_Ready"
    notification: str = "None"
    cable_check_processing: str = "Finished"
    schedule_processing: str = "Finished"
    meter_id: str = "PNC-METER-1"
    meter_reading_wh: float = 0.0
    receipt_required: bool = False
    follow_ev_targets: bool = False
