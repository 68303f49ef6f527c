"""SMS text length (aftercare.delivery.gsm7): the GSM 03.38 alphabet, conversion to it,
septets and segments. Pure functions: no database."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftercare.delivery.gsm7 import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_MULTIPART_SEPTETS,
    GSM7_SEGMENT_SEPTETS,
    fit,
    is_gsm7,
    segments,
    septets,
    to_gsm7,
)

GSM_CHARS = st.sampled_from(GSM7_BASIC + GSM7_EXTENSION)
# Any code point, lone surrogates included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))


# The alphabet ------------------------------------------------------------------------


def test_constants():
    assert GSM7_SEGMENT_SEPTETS == 160
    assert GSM7_MULTIPART_SEPTETS == 153


def test_basic_table_is_the_standard_one():
    # 128 codes less the escape (0x1B), all distinct.
    assert len(GSM7_BASIC) == 127
    assert len(set(GSM7_BASIC)) == 127
    # Spot checks by code, with the escape put back at 0x1B.
    codes = GSM7_BASIC[:0x1B] + "\x1b" + GSM7_BASIC[0x1B:]
    assert codes[0x00] == "@"
    assert codes[0x09] == "\u00c7"  # Ç, capital
    assert codes[0x0A] == "\n"
    assert codes[0x0D] == "\r"
    assert codes[0x10] == "\u0394"  # Greek Δ
    assert codes[0x15] == "\u03a9"  # Greek Ω, not the ohm sign
    assert codes[0x1F] == "É"
    assert codes[0x24] == "¤"
    assert codes[0x40] == "¡"
    assert codes[0x5F] == "§"
    assert codes[0x60] == "¿"
    assert codes[0x7F] == "à"
    assert codes[0x41:0x5B] == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert codes[0x61:0x7B] == "abcdefghijklmnopqrstuvwxyz"


def test_extension_table():
    assert sorted(GSM7_EXTENSION) == sorted("\f^{}\\[~]|€")
    assert not set(GSM7_EXTENSION) & set(GSM7_BASIC)


def test_full_basic_table_round_trips():
    assert is_gsm7(GSM7_BASIC)
    assert to_gsm7(GSM7_BASIC) == GSM7_BASIC
    assert septets(GSM7_BASIC) == 127
    assert to_gsm7(GSM7_EXTENSION) == GSM7_EXTENSION


def test_alphabet_is_nfc_stable():
    # to_gsm7 normalises to NFC; that must never change a GSM character.
    for char in GSM7_BASIC + GSM7_EXTENSION:
        assert unicodedata.normalize("NFC", char) == char


@pytest.mark.parametrize("char", list(GSM7_EXTENSION))
def test_each_extension_character_counts_two(char):
    assert septets(char) == 2
    assert septets("a" + char + "b") == 4


def test_is_gsm7():
    assert is_gsm7("")
    assert is_gsm7("Hello, é è Ø {€}")
    assert not is_gsm7("ç")  # only the capital Ç is in the table
    assert not is_gsm7("’")
    assert not is_gsm7("👍")


def test_septets_refuses_non_gsm_text():
    with pytest.raises(ValueError):
        septets("’")


# Segments: GSM-7 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm_segment_boundaries(length, expected):
    assert segments("a" * length) == expected


def test_extension_characters_count_two_towards_the_single_segment():
    assert segments("€" * 80) == 1
    assert segments("€" * 80 + "a") == 2


def test_extension_character_is_not_split_across_segments():
    # Septets 1-152 are plain; the € would take septets 153 and 154, straddling the end of
    # the first part, so it starts the second. 306 septets: a naive ceil(306 / 153) = 2.
    text = "a" * 152 + "€" + "a" * 152
    assert septets(text) == 306
    assert segments(text) == 3
    # The same € starting at septet 154 fits whole in the second part.
    text = "a" * 153 + "€" + "a" * 151
    assert septets(text) == 306
    assert segments(text) == 2


# Segments: UCS-2 ---------------------------------------------------------------------


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segment_boundaries(length, expected):
    text = "ő" * length
    assert not is_gsm7(text)
    assert segments(text) == expected


def test_one_non_gsm_character_makes_the_whole_text_ucs2():
    assert segments("a" * 70) == 1
    assert segments("a" * 70 + "’") == 2


def test_surrogate_pair_counts_two_units():
    assert segments("😀" * 35) == 1
    assert segments("😀" * 35 + "a") == 2


def test_surrogate_pair_is_not_split_across_segments():
    # 134 UTF-16 units: a naive ceil(134 / 67) = 2, but the emoji would take units 67 and 68.
    text = "a" * 66 + "😀" + "a" * 66
    assert len(text.encode("utf-16-le")) // 2 == 134
    assert segments(text) == 3
    text = "a" * 65 + "😀" + "a" * 67
    assert segments(text) == 2


# fit ---------------------------------------------------------------------------------


def test_fit():
    assert fit("", max_segments=1)
    assert fit("a" * 306, max_segments=2)
    assert not fit("a" * 307, max_segments=2)
    assert not fit("a" * 152 + "€" + "a" * 152, max_segments=2)
    assert fit("ő" * 134, max_segments=2)
    assert not fit("ő" * 135, max_segments=2)


def test_fit_refuses_a_budget_below_one():
    with pytest.raises(ValueError):
        fit("a", max_segments=0)


# to_gsm7 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It\u2019s \u2018fine\u2019", "It's 'fine'"),
        (
            "\u201cquoted\u201d \u201elow\u201d \u00abguillemets\u00bb",
            '"quoted" "low" "guillemets"',
        ),
        ("2\u20133 days \u2014 or more", "2-3 days - or more"),
        ("minus \u22121", "minus -1"),
        ("wait\u2026", "wait..."),
        ("\u2022 one\n\u2022 two", "- one\n- two"),
        ("3 \u00d7 a day", "3 x a day"),
        ("\u2264 2 and \u2265 1", "<= 2 and >= 1"),
        ("no\u00a0break thin\u2009space\u3000wide", "no break thin space wide"),
        ("zero\u200bwidth", "zerowidth"),
        ("tab\there", "tab here"),
        ("line\u2028para\u2029end", "line\npara\nend"),
        ("Keep below 40\u00b0C", "Keep below 40C"),
        ("Keep below 40 \u00b0F", "Keep below 40 F"),
        ("Keep below 40\u2103", "Keep below 40C"),
        ("a 45\u00b0 angle", "a 45 degrees angle"),
        ("\u00bd tablet", "1/2 tablet"),
        ("250\u00b5g", "250mcg"),
        ("\u00a9 Clinic\u2122", "(c) ClinicTM"),
        ("\uff21\uff22", "AB"),  # full-width letters
        ("\ufb01ne", "fine"),  # ligature
    ],
)
def test_typographic_characters_become_plain(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize("text", ["é", "É", "è", "à", "ù", "ì", "ò", "ñ", "ü", "Ø", "å", "ß", "Ç"])
def test_gsm_accented_letters_stay(text):
    assert to_gsm7(text) == text


def test_decomposed_accent_is_composed_and_kept():
    assert to_gsm7("cafe\u0301") == "café"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u0142\u00f3d\u017a", "lodz"),  # łódź
        ("\u0141", "L"),
        ("\u0151\u0150", "oO"),  # őŐ
        ("\u00e7a", "ca"),  # ç: GSM-7 has only the capital
        ("\u00ea\u00ee\u00f4", "eio"),
        ("\u0153uvre", "oeuvre"),
        ("\u0111", "d"),
    ],
)
def test_other_accented_letters_become_their_base_letter(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks \U0001f44d", "Thanks "),
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467 family", " family"),  # ZWJ sequence
        ("\u2764\ufe0f", ""),  # heart + variation selector
        ("\U0001f44d\U0001f3fd", ""),  # skin tone modifier
        ("\U0001f1ec\U0001f1e7", ""),  # flag
        ("1\ufe0f\u20e3", "1"),  # keycap
    ],
)
def test_emoji_are_removed(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u4e2d\u6587", "??"),  # CJK
        ("\u041f\u0440\u0438\u0432\u0435\u0442", "??????"),  # Cyrillic
        ("\u221e", "?"),  # ∞
    ],
)
def test_letters_without_a_gsm_form_become_question_marks(text, expected):
    assert to_gsm7(text) == expected


# Properties --------------------------------------------------------------------------


@given(ANY_TEXT)
def test_to_gsm7_is_gsm7(text):
    assert is_gsm7(to_gsm7(text))


@given(ANY_TEXT)
def test_to_gsm7_is_idempotent(text):
    once = to_gsm7(text)
    assert to_gsm7(once) == once


@given(st.text(GSM_CHARS))
def test_to_gsm7_leaves_gsm_text_alone(text):
    assert to_gsm7(text) == text


@given(ANY_TEXT.filter(bool))
def test_non_empty_text_is_at_least_one_segment(text):
    assert segments(text) >= 1


@given(ANY_TEXT, GSM_CHARS)
def test_appending_a_gsm_character_never_lowers_segments(text, char):
    assert segments(text + char) >= segments(text)


@given(st.text(st.sampled_from(GSM7_BASIC)))
def test_basic_only_text_matches_the_plain_formula(text):
    n = len(text)
    expected = 0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153)
    assert segments(text) == expected


@given(st.text(GSM_CHARS))
def test_gsm_segments_hold_the_septets(text):
    count = segments(text)
    total = septets(text)
    if total <= 160:
        assert count == (1 if text else 0)
    else:
        # Each part holds at most 153 septets and loses at most one to an extension char.
        assert math.ceil(total / 153) <= count <= math.ceil(total / 152)
