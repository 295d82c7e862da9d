"""Revocation of the certificates a chain validation meets, from the CA's own store, with the
statuses of CA certificates cached.

A provisioning chain has two sub-CAs whose status rarely changes and a leaf that differs per
vehicle: the sub-CAs' statuses are cached, the leaf is looked up every time. The cache is dropped
when a revocation goes through this process's CA service, and when the store's revocation epoch
(advanced by every revocation, in any process sharing the store) changes; the epoch is read at most
once per ``refresh_interval`` seconds, so another process's revocation of a sub-CA counts within
that time (as for the OCSP responder, pki/responder.py).
"""

from __future__ import annotations

import threading
import time

from pki.ca import CaService
from pki.certinfo import CertInfo
from pki.revocation import CertStatus, RevocationReason, RevocationStatus


class StoreRevocations:
    """A :data:`pki.validation.RevocationCallback` over the store of ``service``."""

    def __init__(
        self, service: CaService, ca_ids: dict[bytes, int], *, refresh_interval: float = 1.0
    ) -> None:
        self.service = service
        self.ca_ids = ca_ids  # CA certificate DER -> CA id: the issuers this store answers for
        self.refresh_interval = refresh_interval
        self._cached: dict[tuple[int, str], RevocationStatus] = {}
        self._epoch: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        service.on_revoke(self.forget)

    def forget(self) -> None:
        self._cached = {}

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.refresh_interval:
            return
        with self._lock:
            if now - self._checked < self.refresh_interval:
                return
            epoch = self.service.store.revocation_epoch()
            if epoch != self._epoch:
                self._epoch = epoch
                self._cached = {}
            self._checked = time.monotonic()

    def __call__(self, cert: CertInfo, issuer: CertInfo) -> RevocationStatus | None:
        ca_id = self.ca_ids.get(issuer.der)
        if ca_id is None:
            return None  # not issued by this home: its store knows nothing about it
        key = (ca_id, cert.serial_hex)
        if cert.is_ca:
            self._refresh()
            cached = self._cached.get(key)
            if cached is not None:
                return cached
        state = self.service.store.revocation_state(ca_id, cert.serial_hex)
        if state is None:
            return None
        if state.status == "revoked":
            reason = RevocationReason(state.reason) if state.reason else None
            status = RevocationStatus(CertStatus.REVOKED, state.revoked_at, reason)
        else:
            status = RevocationStatus(CertStatus.GOOD)
        if cert.is_ca:
            self._cached[key] = status
        return status


__all__ = ["StoreRevocations"]
