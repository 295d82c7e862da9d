"""The hand-written Prometheus exposition: counters, gauges, cumulative histogram buckets."""

from __future__ import annotations

import pytest

from pnc.server.metrics import Metrics


def _samples(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = value
    return out


def test_counters_gauges_and_histograms_render_in_the_text_format() -> None:
    m = Metrics()
    m.messages.inc("received", "Authorize", "2.0.1", "CallResult")
    m.messages.inc("received", "Authorize", "2.0.1", "CallResult")
    m.messages.inc("received", "Authorize", "2.0.1", "FormatViolation")
    m.connections.inc("2.0.1", "1")
    m.connections.inc("2.0.1", "1")
    m.connections.dec("2.0.1", "1")
    for value in (0.0004, 0.003, 0.003, 7.0, 42.0):
        m.latency.observe("received", "Authorize", "2.0.1", value=value)
    text = m.render()
    assert "# TYPE pnc_ocpp_messages_total counter" in text
    assert "# TYPE pnc_ocpp_call_duration_seconds histogram" in text
    s = _samples(text)
    labels = 'direction="received",action="Authorize",ocpp_version="2.0.1"'
    assert s[f'pnc_ocpp_messages_total{{{labels},outcome="CallResult"}}'] == "2"
    assert s[f'pnc_ocpp_messages_total{{{labels},outcome="FormatViolation"}}'] == "1"
    assert s['pnc_ocpp_connections{ocpp_version="2.0.1",security_profile="1"}'] == "1"
    assert s[f'pnc_ocpp_call_duration_seconds_bucket{{{labels},le="0.0005"}}'] == "1"
    assert s[f'pnc_ocpp_call_duration_seconds_bucket{{{labels},le="0.005"}}'] == "3"
    assert s[f'pnc_ocpp_call_duration_seconds_bucket{{{labels},le="10"}}'] == "4"
    assert s[f'pnc_ocpp_call_duration_seconds_bucket{{{labels},le="+Inf"}}'] == "5"
    assert s[f"pnc_ocpp_call_duration_seconds_count{{{labels}}}"] == "5"
    assert float(s[f"pnc_ocpp_call_duration_seconds_sum{{{labels}}}"]) == pytest.approx(49.0064)
    assert int(s["process_resident_memory_bytes"]) > 1_000_000


def test_label_values_are_escaped_and_label_counts_checked() -> None:
    m = Metrics()
    c = m.counter("pnc_test_total", "A test.", ("reason",))
    c.inc('a "quoted"\\ value\n')
    assert 'pnc_test_total{reason="a \\"quoted\\"\\\\ value\\n"} 1' in m.render()
    with pytest.raises(ValueError, match="labels"):
        c.inc("a", "b")
    with pytest.raises(ValueError, match="already registered"):
        m.counter("pnc_test_total", "Again.")
    with pytest.raises(ValueError, match="only grows"):
        c.inc("a", amount=-1)
