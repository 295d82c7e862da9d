"""The OCPP bridge service (``pnc serve``): OCPP 2.0.1 over websockets at ``/ocpp/{stationId}``,
the OCSP responder at ``/ocsp``, ``/healthz``, Prometheus ``/metrics`` and the REST API at ``/v1``.

Thin I/O adapters over the use cases of :mod:`pnc.core`: the websocket handling converts frames to
the camelCase payloads the core speaks and back, and never does slow work on a connection's
receive loop.
"""
