"""Identifier rules: eMAID check characters, DIN SPEC 91286 mapping, PCID, SECC ID, EVSE ID, station."""

from __future__ import annotations

import pytest

from pki.errors import IdentifierError, PkiError
from pki.identifiers import (
    din_check_digit,
    din_to_emaid,
    emaid_check_character,
    emaid_to_din,
    emaid_with_check_character,
    normalize_emaid,
    validate_evse_id,
    validate_pcid,
    validate_secc_id,
    validate_station_id,
)

# Provenance: the eight IDs and their check characters are the published example set of the eMI3
# "Check Digit Calculation for Contract-IDs" paper, as used in ShellRechargeSolutionsEU/mobilityid
# core/src/test/scala/com/thenewmotion/mobilityid/CheckDigitSpec.scala ("T24RZDM0"); the NLTNM ones
# come from the same repository's EmaIdSpec.scala / ContractIdSpec.scala (U, X, K); DE8AACA2B3C4D5-L
# is the eMI3 standard v1.0 part 2 §1.2.2.1 example quoted in pki-profiles.md.
PUBLISHED_CHECK_CHARACTERS = [
    ("NN123ABCDEFGHI", "T"),
    ("FRXYZ123456789", "2"),
    ("ITA1B2C3E4F5G6", "4"),
    ("ESZU8WOX834H1D", "R"),
    ("PT73902837ABCZ", "Z"),
    ("DE83DUIEN83QGZ", "D"),
    ("DE83DUIEN83ZGQ", "M"),
    ("DE8AA001234567", "0"),
    ("NLTNM000122045", "U"),
    ("NLTNM000722345", "X"),
    ("NLTNMC00122045", "K"),
    ("DE8AACA2B3C4D5", "L"),
]

# Provenance: mobilityid CheckDigitSpec.scala "Check digit DIN ... old Excel-sheet ways" and
# EmaIdSpec.scala / ContractIdSpec.scala (DIN ID -> ISO instance and check character).
PUBLISHED_DIN_CHECK_DIGITS = [
    ("INTNM000071", "9"),
    ("INTNM000110", "X"),
    ("INTNM000124", "0"),
    ("INTNM000114", "6"),
    ("INTNM000191", "5"),
    ("NLTNM122045", "0"),
]
PUBLISHED_DIN_TO_EMAID = [
    ("NL-TNM-012204-5", "NLTNM000122045U"),
    ("DE-TNM-002965-8", "DETNM000029658Q"),
    ("NL*BMW*00009L*1", "NLBMW0000009L1Z"),
]


@pytest.mark.parametrize(("body", "check"), PUBLISHED_CHECK_CHARACTERS)
def test_check_character_matches_the_published_vectors(body: str, check: str) -> None:
    assert emaid_check_character(body) == check
    assert emaid_check_character(body.lower()) == check


@pytest.mark.parametrize(("body", "check"), PUBLISHED_CHECK_CHARACTERS)
def test_every_other_check_character_is_refused(body: str, check: str) -> None:
    assert normalize_emaid(body + check) == body + check
    for wrong in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".replace(check, ""):
        with pytest.raises(IdentifierError, match="check character"):
            normalize_emaid(body + wrong)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("DE-8AA-CA2B3C4D5-L", "DE8AACA2B3C4D5L"),
        ("DE8AACA2B3C4D5L", "DE8AACA2B3C4D5L"),
        ("de-8aa-ca2b3c4d5-l", "DE8AACA2B3C4D5L"),
        ("DE-8AA-CA2B3C4D5", "DE8AACA2B3C4D5"),
        ("DE8AA-CA2B3C4D5", "DE8AACA2B3C4D5"),
        ("DECGN000020001", "DECGN000020001"),  # Hubject's example contract certificate CN
    ],
)
def test_normalize_strips_separators_and_keeps_a_given_check_character(given: str, canonical: str) -> None:
    assert normalize_emaid(given) == canonical


def test_with_check_character_appends_the_computed_one() -> None:
    assert emaid_with_check_character("DE-83D-UIEN83QGZ") == "DE83DUIEN83QGZD"
    assert emaid_with_check_character("DE83DUIEN83QGZD") == "DE83DUIEN83QGZD"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "DE8AA",
        "D18AACA2B3C4D5",  # country must be letters
        "DE-8A-ACA2B3C4D5",  # separator in the wrong place
        "DE--8AACA2B3C4D5",
        "DE8AACA2B3C4D5LL",  # too long
        "DE_8AA_CA2B3C4D5",
        "DE8AACA2B3C4D\u0665",  # an Arabic-Indic digit is not an ASCII digit
        "Европарулит123",
        " DE8AACA2B3C4D5",
        "DE8AACA2B3C4D5\n",
    ],
)
def test_malformed_emaids_are_refused_naming_the_rule(bad: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalize_emaid(bad)
    assert caught.value.rule.startswith("ISO 15118-2 Annex H")
    assert isinstance(caught.value, PkiError)


def test_a_din_id_given_as_emaid_gets_a_hint() -> None:
    with pytest.raises(IdentifierError, match="din_to_emaid"):
        normalize_emaid("NL-TNM-012204-5")


def test_non_strings_are_an_identifier_error() -> None:
    with pytest.raises(IdentifierError, match="expected a string"):
        normalize_emaid(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "DE8AA00123456", "DE8AA0012345678", "DE8AA00123456-", "DE8AA00123456é"])
def test_check_character_needs_fourteen_ascii_alphanumerics(bad: str) -> None:
    with pytest.raises(IdentifierError, match="14 ASCII"):
        emaid_check_character(bad)


@pytest.mark.parametrize(("body", "check"), PUBLISHED_DIN_CHECK_DIGITS)
def test_din_check_digit_matches_the_published_vectors(body: str, check: str) -> None:
    assert din_check_digit(body) == check


@pytest.mark.parametrize(("din", "emaid"), PUBLISHED_DIN_TO_EMAID)
def test_din_ids_map_to_emaids_and_back(din: str, emaid: str) -> None:
    assert din_to_emaid(din) == emaid
    assert normalize_emaid(emaid) == emaid
    assert emaid_to_din(emaid) == din.replace("*", "-")


def test_din_id_without_check_digit_gets_it_computed() -> None:
    assert din_to_emaid("NL-TNM-012204") == "NLTNM000122045U"


def test_din_id_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(IdentifierError, match="DIN SPEC 91286"):
        din_to_emaid("NL-TNM-012204-6")


def test_emaids_not_from_din_have_no_din_form() -> None:
    assert emaid_to_din("NLTNM012345678") is None
    assert emaid_to_din("NLTNM001234560") is None  # starts with 00 but the DIN check (7) does not fit


@pytest.mark.parametrize("good", ["WMIV1234567890ABC", "WMIV1234567890ABC1", "hubv1234567890abc"])
def test_pcids_of_17_or_18_alphanumerics_pass_unchanged(good: str) -> None:
    assert validate_pcid(good) == good


@pytest.mark.parametrize(
    "bad", ["", "WMIV1234567890AB", "WMIV1234567890ABC12", "WMI-V1234567890ABC", "WMIV123456789 ABC"]
)
def test_malformed_pcids_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError, match="VDE-AR-E 2802-100-1"):
        validate_pcid(bad)


@pytest.mark.parametrize(
    "good",
    [
        "DE-ICE-S-00003C4D557878675645330967543476-2",  # pki-profiles.md example
        "DEICES00003C4D5578786756453309675434762",
        "DE-ICE-S-00003C4D557878675645330967543476",
    ],
)
def test_secc_ids_pass_unchanged(good: str) -> None:
    assert validate_secc_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "DE-ICE-S-00003C4D5578786756",  # controller ID shorter than 32
        "DE-ICE-E-00003C4D557878675645330967543476",  # ID type must be S
        "D1-ICE-S-00003C4D557878675645330967543476",
        "DE-ICE-S-" + "A" * 60,  # longer than a CN may be
        "DE*ICE*S*00003C4D557878675645330967543476",
        "SECCCert",
    ],
)
def test_malformed_secc_ids_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError, match="SECCID"):
        validate_secc_id(bad)


@pytest.mark.parametrize("good", ["DE*ICE*E45B*78C", "DEICEE45B78C", "FR*A23*E45B78C", "DE*ICE*E1"])
def test_evse_ids_pass_unchanged(good: str) -> None:
    assert validate_evse_id(good) == good


@pytest.mark.parametrize(
    "bad", ["DE*ICE*S45B*78C", "DE*ICE*E", "DE*IC_*E45B", "DE*ICE*E" + "1" * 31, "DE-ICE-E45B"]
)
def test_malformed_evse_ids_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError, match="EVSEID"):
        validate_evse_id(bad)


@pytest.mark.parametrize("good", ["CP001", "cs-berlin.12", "A*B_C=D+E|F@G", "x" * 48])
def test_station_identities_pass_unchanged(good: str) -> None:
    assert validate_station_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 49, "cs:1", "cs/1", "cs 1", "cs\u00e91"])
def test_malformed_station_identities_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError, match=r"OCPP 2\.0\.1"):
        validate_station_id(bad)
