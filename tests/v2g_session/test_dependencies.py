"""An EIM-only firmware needs the standard library: v2g.session imports v2g.security (and so
cryptography) only when Plug & Charge needs it."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from v2g.session import EvccSession, EvPolicy, EvseState, SeccSession, run
for protocol in ("din", "iso2", "iso20-dc"):
    ev = EvccSession(EvPolicy(protocols=(protocol,), payment="ExternalPayment", stop_after_loops=2))
    secc = SeccSession(evse=EvseState(follow_ev_targets=True))
    secc.authorize()
    run(ev, secc)
    assert (ev.outcome, secc.outcome) == ("End", "End"), protocol
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("cryptography", "pki", "pnc") or m == "v2g.security")
print(loaded)
"""


def test_an_eim_session_never_imports_cryptography_pki_or_pnc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
