"""EV and charger simulators: the sans-IO session machines of :mod:`v2g.session` on real sockets.

- :mod:`pnc.sim.transport` - V2GTP over TCP with the TLS of each standard;
- :mod:`pnc.sim.link` - one session machine on one asyncio connection;
- :mod:`pnc.sim.sdp` - SECC Discovery Protocol over UDP;
- :mod:`pnc.sim.credentials` - SECC and EV certificates from a home's PKI, as PEM files;
- :mod:`pnc.sim.ev` - the EV simulator (EVCC, a scripted vehicle);
- :mod:`pnc.sim.charger` - the charger simulator (SECC, and an OCPP 2.0.1 client to the CSMS);
- :mod:`pnc.sim.demo` - ``pnc demo``: the whole Plug & Charge journey on loopback.

See docs/quickstart.md.
"""
