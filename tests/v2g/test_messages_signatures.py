"""What firmware does with typed objects: decode a signed ISO 15118-2 message, encode each signed
element and SignedInfo as EXI fragments, and check digests and signature made over EXIficient's
bytes (vectors: tests/vectors/signed/, provenance beside them)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import v2g
from v2g.messages import iso2

SIGNED = [
    json.loads(line)
    for line in (Path(__file__).resolve().parents[1] / "vectors" / "signed" / "iso2.jsonl").open()
]


def _signed_elements(body: Any) -> dict[str, tuple[Any, str]]:
    """Id -> (object, element name) of the elements of a body that carry an Id."""
    out: dict[str, tuple[Any, str]] = {}
    todo: list[tuple[Any, str]] = [(body, type(body).__name__)]
    while todo:
        obj, name = todo.pop()
        if not isinstance(obj, v2g.Message):
            continue
        ident = getattr(obj, "Id", None)
        if ident:
            out[ident] = (obj, name)
        for f in obj.FIELDS:
            value = getattr(obj, f.name)
            for item in value if isinstance(value, list) else [value]:
                todo.append((item, f.name))
    return out


@pytest.mark.parametrize("vec", SIGNED, ids=lambda v: v["message"])
def test_signed_elements_and_signed_info_from_objects_match_exificients_fragments(
    vec: dict[str, Any],
) -> None:
    msg = v2g.decode(bytes.fromhex(vec["hex"]), "iso2")
    assert isinstance(msg, iso2.V2G_Message)
    assert v2g.encode(msg).hex() == vec["hex"]
    assert msg.Header is not None
    signature = msg.Header.Signature
    assert signature is not None and signature.SignedInfo is not None and signature.SignatureValue is not None
    elements = _signed_elements(msg.Body)
    for ref, ref_obj in zip(vec["references"], signature.SignedInfo.Reference or [], strict=True):
        assert ref_obj.URI is not None
        obj, name = elements[ref_obj.URI[1:]]
        assert name == ref["element"]
        element = None if type(obj).ELEMENT is not None else name
        fragment = v2g.encode(obj, fragment=True, element=element)
        assert fragment.hex() == ref["hex"]
        assert base64.b64encode(hashlib.sha256(fragment).digest()).decode() == ref["digest"]
        assert ref_obj.DigestValue == hashlib.sha256(fragment).digest()
    signed_info = v2g.encode(signature.SignedInfo, fragment=True, protocol="xmldsig")
    assert signed_info.hex() == vec["signed_info"]["hex"]
    raw = signature.SignatureValue.value
    assert raw is not None
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(vec["public_key"]))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, signed_info, ec.ECDSA(hashes.SHA256()))
