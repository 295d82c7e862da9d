"""Bad input gets the codec's own error and nothing else: mutated vectors and random bytes against
every grammar, with a time guard per call and a memory guard on length prefixes.

The long version of this is ``python -m v2g.fuzz --minutes N`` (not part of the suite).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import v2g
from v2g.errors import EXIDecodeError, EXIHeaderError, V2GError
from v2g.fuzz import PROTOCOLS, Seed, check, load_seeds, mutate

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ALL_SEEDS = load_seeds(sorted((VECTORS / "oracle").glob("*.jsonl")) + sorted(VECTORS.glob("exi.jsonl")))
# a spread of seeds: every (protocol, fragment) kind, small and large streams
SEEDS: list[Seed] = random.Random(15118).sample(ALL_SEEDS, 400)
TARGETS = [(p, f) for p in PROTOCOLS for f in (False, True) if not (p == "xmldsig" and not f)]


def _assert_clean(data: bytes, protocol: str, fragment: bool, *, memory: bool = False) -> None:
    findings = check(data, protocol, fragment, timeout=10.0, memory=memory)
    assert not findings, (
        f"{findings[0].kind} on {protocol} (fragment={fragment}) {data.hex()}:\n{findings[0].detail}"
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), other=st.integers(0, len(SEEDS) - 1), rnd=st.randoms())
def test_mutated_vectors_raise_only_v2g_errors_and_never_hang(
    index: int, other: int, rnd: random.Random
) -> None:
    seed = SEEDS[index]
    _assert_clean(mutate(seed.data, rnd, SEEDS[other].data), seed.protocol, seed.fragment)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), rnd=st.randoms())
def test_a_decode_error_names_the_protocol_the_bit_offset_and_the_grammar_state(
    index: int, rnd: random.Random
) -> None:
    seed = SEEDS[index]
    data = mutate(seed.data, rnd)
    try:
        v2g.exi_to_xml(data, seed.protocol, fragment=seed.fragment)
    except EXIHeaderError as err:
        assert err.bit_offset >= 0, str(err)
    except EXIDecodeError as err:
        assert err.protocol == seed.protocol, str(err)
        assert 0 <= err.bit_offset <= 8 * len(data), str(err)
        assert err.state, str(err)
        assert seed.protocol in str(err) and f"bit {err.bit_offset}" in str(err)
    except V2GError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SEEDS) - 1), rnd=st.randoms(), target=st.sampled_from(TARGETS))
def test_mutated_vectors_under_the_wrong_grammar_raise_only_v2g_errors(
    index: int, rnd: random.Random, target: tuple[str, bool]
) -> None:
    _assert_clean(mutate(SEEDS[index].data, rnd), *target)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400), header=st.booleans())
def test_random_bytes_raise_only_v2g_errors_under_every_grammar(body: bytes, header: bool) -> None:
    data = (b"\x80" + body) if header else body
    for protocol, fragment in TARGETS:
        _assert_clean(data, protocol, fragment)


@pytest.mark.parametrize(
    "protocol, fragment", TARGETS, ids=[f"{p}{'-fragment' if f else ''}" for p, f in TARGETS]
)
def test_huge_length_prefixes_are_errors_not_allocations(protocol: str, fragment: bool) -> None:
    # Cut real streams at many points and append an EXI unsigned integer of about 2**41: wherever
    # the grammar reads a string or binary length there, it is told to expect terabytes.
    kind = [s for s in ALL_SEEDS if (s.protocol, s.fragment) == (protocol, fragment)]
    rng = random.Random(protocol)
    for seed in rng.sample(kind, min(6, len(kind))):
        for cut in sorted({1, 2, 3, *(rng.randrange(1, len(seed.data)) for _ in range(6))}):
            _assert_clean(seed.data[:cut] + b"\xff" * 5 + b"\x7f" + bytes(8), protocol, fragment, memory=True)
