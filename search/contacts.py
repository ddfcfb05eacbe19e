"""Contact details in free text: phone numbers (libphonenumber's ``phonenumbers``),
e-mail addresses and NHS numbers (their modulus-11 check digit).

Feedback masks them in callers' words before storing anything; coverage compares the
service's own phone numbers across pages. Both need the same idea of what a number is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

#: Ten digits written 3-3-4 or together, not part of a longer number: an NHS number when
#: its check digit agrees (``is_nhs_number``).
_TEN_DIGITS = re.compile(r"(?<![\d+])\d{3}[\s-]?\d{3}[\s-]?\d{4}(?![\d])")

#: Any other long run of digits (9 or more, single spaces or hyphens between): a caller's
#: number written without its leading 0, a hospital number, a mistyped NHS number. Masked.
_LONG_NUMBER = re.compile(r"(?<![\d+])\d(?:[ -]?\d){8,}(?!\d)")

PHONE_MASK = "[phone number]"
EMAIL_MASK = "[e-mail]"
NHS_MASK = "[NHS number]"
NUMBER_MASK = "[number]"
#: National numbers shorter than this are service codes (116 123, 111), not a person's.
_MIN_NATIONAL_DIGITS = 9


@dataclass(frozen=True)
class Found:
    """A phone number in a text: ``text[start:end]``, and its digits in national form
    ("08081570420"; "+1..." for a number outside the UK)."""

    start: int
    end: int
    digits: str


def phone_numbers(text: str) -> Iterator[Found]:
    """Phone numbers in ``text``, in order, found and normalised by libphonenumber (the
    ``phonenumbers`` port) as UK numbers unless written with another country code:
    spaced, dotted or hyphenated, in brackets, +44 / 0044 with or without "(0)",
    0800/0808, mobiles. Service codes (116 123, 111, 999) are not returned."""
    import phonenumbers

    for match in phonenumbers.PhoneNumberMatcher(text, "GB",
                                                 leniency=phonenumbers.Leniency.POSSIBLE):
        national = phonenumbers.national_significant_number(match.number)
        if len(national) < _MIN_NATIONAL_DIGITS:
            continue
        digits = "0" + national if match.number.country_code == 44 else \
            f"+{match.number.country_code}{national}"
        yield Found(match.start, match.end, digits)


def is_nhs_number(digits: str) -> bool:
    """Whether ten digits pass the NHS number's modulus-11 check: the first nine weighted
    10 down to 2, 11 minus the remainder is the tenth (11 counts as 0; 10 never occurs)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == int(digits[9])


def mask(text: str, keep: frozenset[str] = frozenset()) -> str:
    """``text`` with e-mail addresses, NHS numbers and phone numbers replaced by
    ``[e-mail]``, ``[NHS number]`` and ``[phone number]``, and any other run of nine or more
    digits by ``[number]``, so callers' identifiers never reach storage. ``keep``: phone
    numbers (national digits) left as written: the service's own, which staff quote when
    they report a number right or wrong."""
    text = EMAIL.sub(EMAIL_MASK, text.replace("\x00", ""))  # NUL marks kept numbers below
    text = _TEN_DIGITS.sub(lambda m: NHS_MASK if is_nhs_number(re.sub(r"\D", "", m.group()))
                           and not m.group().startswith("0") else m.group(), text)
    pieces: list[str] = []
    kept: list[str] = []  # our own numbers, set aside while long digit runs are masked
    position = 0
    for found in phone_numbers(text):
        pieces.append(text[position:found.start])
        if found.digits in keep:
            pieces.append(f"\x00{len(kept)}\x00")
            kept.append(text[found.start:found.end])
        else:
            pieces.append(PHONE_MASK)
        position = found.end
    pieces.append(text[position:])
    text = _LONG_NUMBER.sub(NUMBER_MASK, "".join(pieces))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def numbers_in(texts: Iterable[str]) -> frozenset[str]:
    """Every phone number of these texts (our pages), in national digits."""
    return frozenset(found.digits for text in texts for found in phone_numbers(text))
