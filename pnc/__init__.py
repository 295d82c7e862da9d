"""The Plug & Charge service: OCPP bridge, REST API, OCSP responder and the ``pnc`` command."""

__version__ = "0.1.0"
