"""The generated fast codec agrees with the reference interpreter: same objects, same bytes, and
on damaged input it either gives way to the interpreter or returns exactly what it would."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import v2g
from v2g.exi import fast, grammar, interpreter, objects

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
PUBLIC = [json.loads(line) for line in (VECTORS / "exi.jsonl").open()]
ORACLE = [json.loads(line) for p in sorted((VECTORS / "oracle").glob("*.jsonl")) for line in p.open()]
DOCUMENTS = [v for v in PUBLIC + ORACLE if not v["fragment"]]


def _reference(data: bytes, protocol: str) -> Any:
    """The reference decoding, or the error it raises."""
    try:
        (obj,) = objects.from_events(interpreter.decode(data, grammar.load(protocol)), protocol)
    except v2g.V2GError as exc:
        return exc
    return obj


def _id(v: dict[str, Any]) -> str:
    return f"{v['protocol']}-{v['message']}-{v['hex'][:16]}"


@pytest.mark.parametrize("vec", DOCUMENTS, ids=_id)
def test_fast_decoding_and_encoding_agree_with_the_interpreter(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    ref = _reference(data, vec["protocol"])
    got = fast.decode_document(data, vec["protocol"])
    if isinstance(ref, v2g.V2GError):
        assert got is None
        return
    assert got is None or got == ref
    try:
        ref_bytes = interpreter.encode(objects.to_events(ref, vec["protocol"]), grammar.load(vec["protocol"]))
    except v2g.V2GError:
        assert fast.encode_document(ref, vec["protocol"]) is None
        return
    fast_bytes = fast.encode_document(ref, vec["protocol"])
    assert fast_bytes is None or fast_bytes == ref_bytes


@pytest.mark.parametrize("protocol", ["sap", "din", "iso2", "iso20-cm", "iso20-ac", "iso20-dc"])
def test_the_fast_path_covers_the_field_corpus(protocol: str) -> None:
    # the public vectors are real messages: apart from the one truncated capture, no fallback
    docs = [
        bytes.fromhex(v["hex"])
        for v in PUBLIC
        if v["protocol"] == protocol and v["exificient_xml"] and not v["fragment"]
    ]
    fallbacks = [d.hex() for d in docs if fast.decode_document(d, protocol) is None]
    assert fallbacks == []
    objs = [v2g.decode(d, protocol) for d in docs]
    failed = [o for o in objs if fast.encode_document(o, protocol) is None]
    invalid = [o for o in failed if protocol == "iso2"]  # the multiplier of 4 (range -3..3) of one capture
    assert len(failed) == len(invalid) <= 1


SEEDS = [v for v in PUBLIC if not v["fragment"] and v["exificient_xml"] is not None]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), rnd=st.randoms(use_true_random=False))
def test_damaged_streams_never_make_the_fast_path_disagree(index: int, rnd: random.Random) -> None:
    vec = SEEDS[index]
    data = bytearray.fromhex(vec["hex"])
    how = rnd.randrange(3)
    if how == 0:
        data = data[: rnd.randrange(1, len(data))]
    elif how == 1:
        for _ in range(rnd.randrange(1, 4)):
            i = rnd.randrange(1, len(data))
            data[i] ^= 1 << rnd.randrange(8)
    else:
        data += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
    ref = _reference(bytes(data), vec["protocol"])
    got = fast.decode_document(bytes(data), vec["protocol"])
    if isinstance(ref, v2g.V2GError):
        assert got is None, f"fast decoded what the interpreter refuses ({ref}): {bytes(data).hex()}"
    else:
        assert got is None or got == ref


def test_objects_the_fast_encoder_refuses_get_the_interpreters_error() -> None:
    msg = v2g.decode(bytes.fromhex("80400040"), "sap")
    msg.SchemaID = "1"  # a string where the schema wants an unsignedByte
    assert fast.encode_document(msg, "sap") is None
    with pytest.raises(v2g.EXIEncodeError, match="SchemaID"):
        v2g.encode(msg)
