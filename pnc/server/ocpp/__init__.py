"""OCPP-J over websockets: frames (sans-IO), the per-connection session, the version handlers.

:data:`pnc.server.ocpp.protocols.PROTOCOLS` maps a websocket subprotocol (``ocpp2.0.1``) to the
handler class of that OCPP version; adding ``ocpp1.6`` or ``ocpp2.1`` is one entry there.
"""
