"""What the vehicle (EVCC) wants: the scripted EV controller that drives a whole session.

:class:`EvPolicy` holds the EV's fixed facts (identity, protocols in order of preference, energy
transfer mode, limits, battery) and makes its decisions through methods a firmware or a test may
override: which payment option, whether to install a contract certificate, when charging is
complete. :class:`EvCredentials` holds the Plug & Charge material (OEM provisioning certificate
and key, trusted roots, the installed contract). :class:`Battery` is the simulated battery the
charge loop fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from v2g.session.charger import AC_MODES, DC_MODES
from v2g.session.errors import ConfigError
from v2g.session.protocols import protocols


@dataclass
class Contract:
    """A contract the EV holds: eMAID, certificate chain (DER, leaf first) and private key. A
    :class:`v2g.security.ev.InstalledContract` (what an installation yields) has the same fields."""

    emaid: str
    certificate: bytes
    sub_certificates: list[bytes]
    private_key: Any = field(repr=False)


@dataclass
class EvCredentials:
    """Plug & Charge material of the EV (DER certificates; keys as ``cryptography`` objects or a
    :class:`v2g.security.Signer`).

    ``oem_key`` signs the CertificateInstallationReq and decrypts the contract key; ``v2g_roots``
    check the CPS chain of the response, ``mo_roots`` the contract chain; ``contract`` (a
    :class:`v2g.security.ev.InstalledContract`) is set when one is installed and signs the
    AuthorizationReq and MeteringReceiptReq.
    """

    oem_certificate: bytes
    oem_key: Any = field(repr=False)
    oem_sub_certificates: tuple[bytes, ...] = ()
    v2g_roots: tuple[bytes, ...] = ()
    mo_roots: tuple[bytes, ...] = ()
    contract: Any = None


@dataclass
class Battery:
    """A simple battery: state of charge from the energy charged."""

    capacity_wh: float = 60_000.0
    soc: float = 30.0
    energy_wh: float = 0.0  # charged in this session

    def charge(self, watts: float, seconds: float) -> None:
        wh = max(0.0, watts) * max(0.0, seconds) / 3600.0
        self.energy_wh += wh
        self.soc = min(100.0, self.soc + 100.0 * wh / self.capacity_wh)


@dataclass
class EvPolicy:
    """The scripted EV: its facts and its decisions (subclass and override the methods).

    ``protocols``: offered in SupportedAppProtocol, first = priority 1. ``energy_mode``: an ISO
    15118-2 EnergyTransferMode (``AC_three_phase_core``, ``DC_extended``, ...). ``payment``: the
    preferred option, ``Contract`` (Plug & Charge) or ``ExternalPayment``. ``stop_after_loops`` /
    ``target_energy_wh`` / ``target_soc``: charging is complete when any is reached.
    ``loop_interval``: pause between charge loop requests; ``retry_interval``: pause before
    repeating a request answered ``Ongoing`` (the standards leave both to the EV). ``pause``: end the
    session with SessionStop Pause, to resume it later with the same SessionID.
    """

    evcc_id: bytes = bytes.fromhex("0A0B0C0D0E0F")
    protocols: tuple[str, ...] = ()  # () = by energy mode: iso20-dc, iso2, din (DC); iso20-ac, iso2 (AC)
    energy_mode: str = "DC_extended"
    payment: str = "Contract"
    credentials: EvCredentials | None = None
    install_certificate: str = "missing"  # missing | always | never
    service_details: bool = False  # -2: ask ServiceDetailReq for every optional service
    battery: Battery = field(default_factory=Battery)
    max_voltage: float = 450.0
    max_current: float = 250.0
    max_power: float = 100_000.0
    min_current: float = 0.0
    target_voltage: float = 400.0
    ac_max_current: float = 32.0
    ac_min_current: float = 6.0
    ac_phases: int = 3
    ac_voltage: float = 230.0
    target_current: float = 125.0
    precharge_tolerance: float = 10.0
    stop_after_loops: int | None = None
    target_energy_wh: float | None = None
    target_soc: float = 100.0
    departure_time: int = 7200
    loop_interval: float = 0.1
    retry_interval: float = 0.1
    pause: bool = False  # end with SessionStop Pause (-2, -20) instead of Terminate

    def __post_init__(self) -> None:
        if self.energy_mode not in AC_MODES + DC_MODES:
            raise ConfigError(f"unknown EnergyTransferMode {self.energy_mode!r}")
        if not self.protocols:
            self.protocols = ("iso20-ac", "iso2") if self.ac else ("iso20-dc", "iso2", "din")
        for protocol in protocols(self.protocols):
            if (protocol.name in ("iso20-dc", "din") and self.ac) or (
                protocol.name == "iso20-ac" and not self.ac
            ):
                raise ConfigError(f"an EV charging with {self.energy_mode} cannot offer {protocol.name}")
        if self.payment not in ("Contract", "ExternalPayment"):
            raise ConfigError(f"payment is Contract or ExternalPayment, not {self.payment!r}")
        if self.install_certificate not in ("missing", "always", "never"):
            raise ConfigError("install_certificate is missing, always or never")
        if len(self.evcc_id) != 6:
            raise ConfigError("evcc_id is the 6-byte MAC address of the EVCC")

    @property
    def ac(self) -> bool:
        return self.energy_mode in AC_MODES

    @property
    def contract(self) -> Any:
        return self.credentials.contract if self.credentials is not None else None

    # -- decisions ---------------------------------------------------------------------------------
    def wants_installation(self, offered: bool) -> bool:
        """Whether to request a contract certificate (only when the charger offers it)."""
        if not offered or self.credentials is None or self.install_certificate == "never":
            return False
        return self.install_certificate == "always" or self.contract is None

    def choose_payment(self, offered: Sequence[str], installation_offered: bool) -> str | None:
        """The payment option to select among ``offered`` (None: none is acceptable, stop)."""
        pnc_possible = self.contract is not None or self.wants_installation(installation_offered)
        if self.payment == "Contract" and "Contract" in offered and pnc_possible:
            return "Contract"
        if "ExternalPayment" in offered:
            return "ExternalPayment"
        if "Contract" in offered and pnc_possible:
            return "Contract"
        return None

    def charging_complete(self, loops: int) -> bool:
        """Whether to end the charge loop after ``loops`` exchanges."""
        b = self.battery
        if self.stop_after_loops is not None and loops >= self.stop_after_loops:
            return True
        if self.target_energy_wh is not None and b.energy_wh >= self.target_energy_wh:
            return True
        return b.soc >= self.target_soc

    def requested_current(self, present_voltage: float) -> float:
        """The DC current to ask for: the target within the EV's current and power limits."""
        current = min(self.target_current, self.max_current)
        if present_voltage > 0:
            current = min(current, self.max_power / present_voltage)
        return max(self.min_current, current)

    def energy_request_wh(self) -> float:
        """The energy to full (or to ``target_energy_wh``)."""
        b = self.battery
        to_full = max(0.0, (100.0 - b.soc) / 100.0 * b.capacity_wh)
        return min(to_full, self.target_energy_wh) if self.target_energy_wh is not None else to_full
