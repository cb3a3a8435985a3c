"""How many SMS parts a text costs, and in which encoding (3GPP TS 23.038 and 23.040).

A text goes out in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table (an extension character takes two septets: the escape and itself); otherwise
in UCS-2, where a character outside the Basic Multilingual Plane (most emoji) takes two code
units. One part holds 160 septets or 70 code units; a longer text is split into parts of 153
septets or 67 code units (the rest of each part is the concatenation header), and a part never
ends between the two halves of an escape or a surrogate pair.

The one place that counts: the admin's composer, the mailing form and the API, the limit on
parts (`MAILING_MAX_PARTS`) all read it.
"""

from dataclasses import dataclass
from functools import lru_cache

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# The GSM 03.38 default alphabet (ESC, 0x1B, is not a character of its own) ...
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# ... and its extension table, each character sent as ESC + itself.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# Look-alikes that force UCS-2, and the GSM-7 text an operator most likely meant.
LOOKALIKES = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u00ab": '"',  # left guillemet
    "\u00bb": '"',  # right guillemet
    "\u2033": '"',  # double prime
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2026": "...",  # ellipsis
    "\u00a0": " ",  # no-break space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u200b": "",  # zero-width space
    "\u00b4": "'",  # acute accent
    "\u02bc": "'",  # modifier letter apostrophe
    "\t": " ",
}

SINGLE_PART = {GSM_7: 160, UCS_2: 70}
MULTI_PART = {GSM_7: 153, UCS_2: 67}


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM_7 or UCS_2
    characters: int  # as a person counts them (code points)
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)
    parts: int
    # The characters that make the text UCS-2 (each once, in order of appearance); empty for GSM-7.
    ucs2_characters: tuple[str, ...] = ()

    @property
    def per_part(self) -> int:
        return SINGLE_PART[self.encoding] if self.parts <= 1 else MULTI_PART[self.encoding]


def _cost(character: str, encoding: str) -> int:
    if encoding == GSM_7:
        return 2 if character in _GSM_EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def is_gsm_7(character: str) -> bool:
    return character in _GSM_BASIC or character in _GSM_EXTENSION


@lru_cache(maxsize=256)  # a mailing's encoding and parts are asked for together, per row of a list
def count(text: str) -> Segments:
    """The encoding, size and parts of `text` (an empty text is 0 parts)."""
    outside = tuple(dict.fromkeys(c for c in text if not is_gsm_7(c)))
    encoding = UCS_2 if outside else GSM_7
    costs = [_cost(c, encoding) for c in text]
    units = sum(costs)
    if units <= SINGLE_PART[encoding]:
        parts = 1 if text else 0
    else:  # packed part by part: a character's units never straddle two parts
        parts, room = 1, MULTI_PART[encoding]
        for cost in costs:
            if cost > room:
                parts, room = parts + 1, MULTI_PART[encoding]
            room -= cost
    return Segments(encoding=encoding, characters=len(text), units=units, parts=parts, ucs2_characters=outside)


def gsm_7_lookalikes(text: str) -> dict[str, str]:
    """The characters of `text` that force UCS-2 and have a GSM-7 look-alike: character -> replacement."""
    return {c: LOOKALIKES[c] for c in dict.fromkeys(text) if c in LOOKALIKES}


def with_lookalikes_replaced(text: str) -> str:
    return "".join(LOOKALIKES.get(c, c) for c in text)
