"""SMS segment counting at the GSM-7 and UCS-2 boundaries (issue #7 needs it for the SMS editor)."""

from __future__ import annotations

import pytest

from domain.sms_segments import count_sms


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the basic table
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not: the whole message is UCS-2
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 153, "GSM-7", 153, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),  # 160 characters, but the € makes 161 septets
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("ê" * 67, "UCS-2", 67, 1),
        ("a" * 69 + "ê", "UCS-2", 70, 1),  # one non-GSM character makes the whole message UCS-2
        ("a" * 70 + "ê", "UCS-2", 71, 2),
        ("a" * 160 + "ê", "UCS-2", 161, 3),
        ("ê" * 201, "UCS-2", 201, 3),
        ("ê" * 202, "UCS-2", 202, 4),
        ("a" * 459, "GSM-7", 459, 3),
        ("a" * 460, "GSM-7", 460, 4),
    ],
)
def test_boundaries(text, encoding, units, segments):
    count = count_sms(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_an_escape_pair_is_never_split_across_parts():
    text = "a" * 152 + "€" + "a" * 10  # the € does not fit in the first part's last septet
    count = count_sms(text)
    assert count.units == 164 and count.segments == 2
    assert count.remaining == 153 - 12  # the second part holds ESC+€ and ten letters


def test_a_surrogate_pair_is_never_split_across_parts():
    count = count_sms("a" * 66 + "😀")
    assert count.encoding == "UCS-2" and count.units == 68 and count.segments == 1
    count = count_sms("ê" * 66 + "😀" + "ê")
    assert count.units == 69 and count.segments == 1
    count = count_sms("ê" * 66 + "😀" + "ê" * 5)
    assert count.segments == 2 and count.remaining == 67 - 7


def test_the_characters_that_force_ucs2_are_named():
    count = count_sms("Hello Zoë, 50% off 😀 today ê")
    assert count.encoding == "UCS-2" and count.non_gsm == ("ë", "😀", "ê")
    assert count.characters == len("Hello Zoë, 50% off 😀 today ê")


@pytest.mark.parametrize("char", list("^{}\\[~]|€"))
def test_each_extension_character_costs_two_septets(char):
    assert count_sms(char).units == 2
    assert (count_sms(char * 80).units, count_sms(char * 80).segments) == (160, 1)
    assert (count_sms(char * 81).units, count_sms(char * 81).segments) == (162, 2)
    assert count_sms("a" * 159 + char).segments == 2


def test_room_per_segment_follows_the_encoding_and_length():
    assert (count_sms("a" * 160).per_segment, count_sms("a" * 160).remaining) == (160, 0)
    assert (count_sms("a" * 161).per_segment, count_sms("a" * 161).remaining) == (153, 153 - 8)
    assert (count_sms("ê" * 70).per_segment, count_sms("ê" * 70).remaining) == (70, 0)
    assert (count_sms("ê" * 71).per_segment, count_sms("ê" * 71).remaining) == (67, 67 - 4)


def test_basic_table_characters_stay_gsm7():
    text = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r "
    count = count_sms(text)
    assert count.encoding == "GSM-7" and count.units == len(text) and count.non_gsm == ()
