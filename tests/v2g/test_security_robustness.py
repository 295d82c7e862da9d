"""Whatever bytes arrive, the EV, charger and backend helpers of v2g.security answer with a
SecurityError or a codec V2GError (never another exception), and a mutated response is never
accepted: random bit flips of signed responses and requests (fixed seed, a few hundred cases)."""

from __future__ import annotations

import random

import pytest
from security_pki import PCID, pki
from test_security_roundtrip import backend_response, install_request

from v2g import security as sec
from v2g.errors import V2GError

CASES = 150


def _mutations(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(CASES):
        mutated = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3))):
            index = rng.randrange(1, len(mutated))  # keep the EXI header byte
            mutated[index] ^= 1 << rng.randrange(8)
        out.append(bytes(mutated))
    return out


@pytest.mark.parametrize(("protocol", "kind"), [("iso2", "p256"), ("iso20-cm", "p521")])
def test_a_mutated_response_is_refused_with_a_typed_error(protocol: str, kind: str) -> None:
    p = pki(kind)
    response = backend_response(install_request(protocol, kind), protocol, kind)
    refused = 0
    for mutated in _mutations(response, 15118):
        try:
            sec.verify_certificate_installation_res(
                mutated,
                protocol=protocol,
                recipient_key=p.oem.leaf_key,
                v2g_roots=[p.v2g.root],
                mo_roots=[p.mo.root],
                pcid=PCID,
            )
        except V2GError:
            refused += 1
    # a flip may land in a part nothing signs (SessionID, ResponseCode within OK codes, the CPS
    # chain's sub-CAs order ...): only those may pass; most land in signed or checked bytes
    assert refused >= CASES * 0.8


@pytest.mark.parametrize(("protocol", "kind"), [("iso2", "p256"), ("iso20-cm", "ed448")])
def test_a_mutated_request_never_raises_anything_but_a_typed_error(protocol: str, kind: str) -> None:
    request = install_request(protocol, kind)
    for mutated in _mutations(request, 2014):
        try:
            parsed = sec.parse_certificate_request(mutated, protocol)
        except V2GError:
            continue
        if parsed.signature.valid:
            # only bytes outside the signed element may change and still verify
            assert parsed.certificate == pki(kind).oem.leaf
