"""SMS parts as 3GPP TS 23.038/23.040 count them (the figures of Twilio's and others' segment calculators)."""

import pytest

from mailings.segments import GSM_7, UCS_2, count, gsm_7_lookalikes, with_lookalikes_replaced


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", GSM_7, 0, 0),
        ("a" * 160, GSM_7, 160, 1),
        ("a" * 161, GSM_7, 161, 2),
        ("a" * 306, GSM_7, 306, 2),
        ("a" * 307, GSM_7, 307, 3),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", GSM_7, 42, 1),  # the default alphabet's own letters
        ("€" * 80, GSM_7, 160, 1),  # extension characters take two septets
        ("€" * 81, GSM_7, 162, 2),
        ("{}[]~|^\\", GSM_7, 16, 1),
        # A part never ends inside an escape: 152 septets, then "€" opens the second part.
        ("a" * 152 + "€" + "a" * 152, GSM_7, 306, 3),
        ("Привет", UCS_2, 6, 1),
        ("ж" * 70, UCS_2, 70, 1),
        ("ж" * 71, UCS_2, 71, 2),
        ("ж" * 134, UCS_2, 134, 2),
        ("ж" * 135, UCS_2, 135, 3),
        ("😀" * 35, UCS_2, 70, 1),  # outside the BMP: a surrogate pair, two code units
        ("😀" * 36, UCS_2, 72, 2),
        # 33 emoji fill 66 of a part's 67 units; the 34th cannot be split across parts.
        ("😀" * 67, UCS_2, 134, 3),
        ("a" * 159 + "ê", UCS_2, 160, 3),  # one character outside GSM-7 makes all of it UCS-2
    ],
)
def test_the_encoding_and_parts(text, encoding, units, parts):
    segments = count(text)

    assert (segments.encoding, segments.units, segments.parts) == (encoding, units, parts)
    assert segments.characters == len(text)


def test_the_characters_that_force_ucs_2_are_named_once_each_in_order():
    assert count("Скидка 20% 😀 Скидка").ucs2_characters == ("С", "к", "и", "д", "а", "😀")  # noqa: RUF001
    assert count("Sale 20% off").ucs2_characters == ()


def test_a_part_size_follows_the_number_of_parts():
    assert count("a" * 160).per_part == 160
    assert count("a" * 161).per_part == 153
    assert count("ж").per_part == 70
    assert count("ж" * 71).per_part == 67


def test_look_alikes_are_offered_and_their_replacement_is_gsm_7():
    text = "It\u2019s \u201cthe\u201d sale \u2014 20%\u2026\u00a0now"

    assert gsm_7_lookalikes(text) == {
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
    assert with_lookalikes_replaced(text) == 'It\'s "the" sale - 20%... now'
    assert count(with_lookalikes_replaced(text)).encoding == GSM_7


def test_a_text_with_other_characters_keeps_them_and_stays_ucs_2():
    assert gsm_7_lookalikes("Привет — всем") == {"—": "-"}
    assert count(with_lookalikes_replaced("Привет — всем")).encoding == UCS_2
