"""``pnc v2g decode|encode``: the real command, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from oracle_corpus import first_difference, load

import v2g

CORPUS = load()


def pnc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pnc", "v2g", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pick(protocol: str, message: str, variant: str = "full") -> dict[str, object]:
    return next(
        v for v in CORPUS if (v["protocol"], v["message"], v["variant"]) == (protocol, message, variant)
    )


# ---------------------------------------------------------------------------------------------
# errors and usage (the codec is not reached)


def test_not_hexadecimal_input_is_one_error_line_and_exit_1() -> None:
    out = pnc("decode", "--protocol", "iso2", "80zz")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr == "error: not hexadecimal: 'z' at character 3\n"


def test_odd_number_of_hex_digits_is_refused() -> None:
    out = pnc("decode", "--protocol", "din", "809")
    assert (out.returncode, out.stderr) == (1, "error: odd number of hex digits (3)\n")


def test_xmldsig_without_fragment_is_a_usage_error() -> None:
    out = pnc("decode", "--protocol", "xmldsig", "80")
    assert out.returncode == 2
    assert out.stderr == "error: xmldsig has fragments only: add --fragment\n"


def test_unknown_protocol_is_a_usage_error_that_lists_the_protocols() -> None:
    out = pnc("decode", "--protocol", "iso3", "80")
    assert out.returncode == 2
    assert "iso20-wpt" in out.stderr and "iso20-acdp" in out.stderr


def test_missing_input_file_is_one_error_line() -> None:
    out = pnc("encode", "--protocol", "iso2", "/nonexistent/message.xml")
    assert out.returncode == 1
    assert (
        out.stderr.startswith("error: cannot read /nonexistent/message.xml") and out.stderr.count("\n") == 1
    )


def test_lines_mode_reports_each_bad_line_keeps_one_output_line_per_input_line_and_exits_1() -> None:
    out = pnc("decode", "--protocol", "din", "--lines", "-", stdin="zz\n\n0\n")
    assert out.returncode == 1
    assert out.stdout == "\n\n\n"
    assert out.stderr.splitlines() == [
        "error: line 1: not hexadecimal: 'z' at character 1",
        "error: line 3: odd number of hex digits (1)",
    ]


def test_v2gtp_frame_with_a_bad_header_is_refused_with_the_byte_offset() -> None:
    out = pnc("decode", "--protocol", "din", "--v2gtp", "02fe8001000000028080")
    assert out.returncode == 1
    assert out.stderr == "error: V2GTP protocol version 0x02 at byte 0, expected 0x01\n"


# ---------------------------------------------------------------------------------------------
# decode and encode against EXIficient's bytes


def test_decode_prints_the_xml_of_exificient_bytes() -> None:
    vec = _pick("iso2", "ChargeParameterDiscoveryRes")
    out = pnc("decode", "--protocol", "iso2", str(vec["hex"]))
    assert out.returncode == 0, out.stderr
    assert first_difference(str(vec["xml"]), out.stdout) is None


def test_encode_prints_exificient_bytes_from_a_file(tmp_path: Path) -> None:
    vec = _pick("iso20-dc", "DC_ChargeLoopReq")
    path = tmp_path / "message.xml"
    path.write_text(str(vec["xml"]), encoding="utf-8")
    out = pnc("encode", "--protocol", "iso20-dc", str(path))
    assert (out.returncode, out.stdout) == (0, f"{vec['hex']}\n"), out.stderr


def test_fragment_decodes_and_encodes_from_standard_input() -> None:
    vec = _pick("iso2", "eMAID (EMAIDType)")
    out = pnc("encode", "--protocol", "iso2", "--fragment", "-", stdin=str(vec["xml"]))
    assert (out.returncode, out.stdout) == (0, f"{vec['hex']}\n"), out.stderr
    out = pnc("decode", "--protocol", "iso2", "--fragment", "-", stdin=str(vec["hex"]))
    assert out.returncode == 0, out.stderr
    assert first_difference(str(vec["xml"]), out.stdout) is None


def test_lines_mode_decodes_and_encodes_many_messages_one_per_line() -> None:
    vecs = [v for v in CORPUS if v["protocol"] == "din" and v["variant"] == "minimal"][:10]
    out = pnc("decode", "--protocol", "din", "--lines", "-", stdin="".join(f"{v['hex']}\n" for v in vecs))
    assert out.returncode == 0, out.stderr
    xmls = out.stdout.splitlines()
    assert len(xmls) == len(vecs)
    for vec, xml in zip(vecs, xmls, strict=True):
        assert first_difference(str(vec["xml"]), xml) is None
    out = pnc("encode", "--protocol", "din", "--lines", "-", stdin="\n".join(xmls) + "\n")
    assert (out.returncode, out.stdout.splitlines()) == (0, [v["hex"] for v in vecs]), out.stderr


def test_lines_mode_goes_on_after_a_line_the_codec_refuses() -> None:
    good = _pick("sap", "supportedAppProtocolRes")
    out = pnc("decode", "--protocol", "sap", "--lines", "-", stdin=f"80ffffffff\n{good['hex']}\n")
    assert out.returncode == 1
    first, second = out.stdout.split("\n")[:2]
    assert first == ""
    assert first_difference(str(good["xml"]), second) is None
    assert out.stderr.startswith("error: line 1: ") and out.stderr.count("\n") == 1


def test_v2gtp_frames_wrap_and_unwrap_with_the_protocol_payload_type() -> None:
    vec = _pick("iso20-ac", "AC_ChargeLoopRes")
    out = pnc("encode", "--protocol", "iso20-ac", "--v2gtp", "-", stdin=str(vec["xml"]))
    data = bytes.fromhex(str(vec["hex"]))
    assert out.stdout.strip() == "01fe8003" + len(data).to_bytes(4, "big").hex() + data.hex()
    out = pnc("decode", "--protocol", "iso20-ac", "--v2gtp", out.stdout.strip())
    assert out.returncode == 0, out.stderr
    assert first_difference(str(vec["xml"]), out.stdout) is None
    wrong = pnc(
        "decode",
        "--protocol",
        "iso20-dc",
        "--v2gtp",
        "01fe8003" + len(data).to_bytes(4, "big").hex() + data.hex(),
    )
    assert wrong.returncode == 1 and "0x8003" in wrong.stderr


def test_json_format_prints_the_message_as_json() -> None:
    vec = _pick("din", "SessionSetupRes")
    out = pnc("decode", "--protocol", "din", "--format", "json", str(vec["hex"]))
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert "SessionSetupRes" in json.dumps(document)


def test_lines_mode_keeps_a_line_break_inside_a_value_as_a_character_reference() -> None:
    xml = (
        '<app:supportedAppProtocolReq xmlns:app="urn:iso:15118:2:2010:AppProtocol"><AppProtocol>'
        "<ProtocolNamespace>urn:a\nb</ProtocolNamespace><VersionNumberMajor>2</VersionNumberMajor>"
        "<VersionNumberMinor>0</VersionNumberMinor><SchemaID>1</SchemaID><Priority>1</Priority>"
        "</AppProtocol></app:supportedAppProtocolReq>"
    )
    data = v2g.xml_to_exi(xml, "sap")
    out = pnc("decode", "--protocol", "sap", "--lines", "-", stdin=data.hex() + "\n")
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    assert "urn:a&#10;b" in line
    again = pnc("encode", "--protocol", "sap", "--lines", "-", stdin=out.stdout)
    assert again.stdout.strip() == data.hex()


def test_json_from_decode_encodes_back_to_the_same_bytes_line_by_line() -> None:
    vecs = [v for v in CORPUS if v["protocol"] == "iso20-dc" and v["variant"] in ("full", "minimal")][:8]
    stdin = "".join(f"{v['hex']}\n" for v in vecs)
    decoded = pnc("decode", "--protocol", "iso20-dc", "--format", "json", "--lines", "-", stdin=stdin)
    assert decoded.returncode == 0, decoded.stderr
    assert len(decoded.stdout.splitlines()) == len(vecs)
    encoded = pnc("encode", "--protocol", "iso20-dc", "--lines", "-", stdin=decoded.stdout)
    assert (encoded.returncode, encoded.stdout) == (0, stdin), encoded.stderr


def test_json_that_does_not_parse_is_one_error_line() -> None:
    out = pnc("encode", "--protocol", "din", "-", stdin='{"V2G_Message": ')
    assert out.returncode == 1
    assert out.stderr.startswith("error: not JSON: ") and out.stderr.count("\n") == 1


def test_corrupt_exi_is_one_error_line_and_exit_1() -> None:
    out = pnc("decode", "--protocol", "iso2", "80ff")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
