"""Errors of the bridge's use cases (``pnc.core``), all under :class:`pnc.errors.PncError`."""

from __future__ import annotations

from pnc.errors import PncError


class PayloadError(PncError):
    """A request payload the core cannot answer: a field is missing, of the wrong type, too long or
    malformed. ``field`` names it as a JSON path (``iso15118CertificateHashData[1].serialNumber``).

    The OCPP adapter answers it with a CallError (FormatViolation / PropertyConstraintViolation),
    the REST adapter with HTTP 400. Nothing was written to the store.
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class StationOffline(PncError):
    """Raised by a CertificateSigned ``deliver`` function when the station is not connected here:
    the sign job stays open (no attempt is spent) until :meth:`SignJobRunner.station_connected`."""


class OcspUnavailable(PncError):
    """No usable OCSP answer: the responder could not be reached in time, answered an error, or its
    answer did not verify. ``reason`` is a short code (``timeout``, ``http``, ``refused-url``,
    ``malformed``, ``unverified``, ``unknown-issuer``) for the statusInfo of a GetCertificateStatus
    answer and for metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


__all__ = ["OcspUnavailable", "PayloadError", "StationOffline"]
