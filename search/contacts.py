"""Contact details in free text: UK phone numbers, e-mail addresses and NHS numbers.

Feedback masks them in callers' words before storing anything; coverage compares the
service's own phone numbers across pages. Both need the same idea of what a number is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

#: A UK number: +44 / 0044 (optionally "(0)") or a leading 0, an area or service code,
#: then one or two groups split by a space, dot or hyphen (never a line break).
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?(?:[ .-]?\d{3,4}){1,2}(?!\d)"
)

#: Ten digits, usually written 3-3-4 ("943 476 5919"), not part of a longer number.
_NHS_NUMBER = re.compile(r"(?<![\d+])\d{3}[\s-]?\d{3}[\s-]?\d{4}(?![\d])")

#: Any other long run of digits (9 or more, single spaces or hyphens between): a caller's
#: number written without its leading 0, a hospital number. Masked too.
_LONG_NUMBER = re.compile(r"(?<![\d+])\d(?:[ -]?\d){8,}(?!\d)")

PHONE_MASK = "[phone number]"
EMAIL_MASK = "[e-mail]"
NHS_MASK = "[NHS number]"
NUMBER_MASK = "[number]"


@dataclass(frozen=True)
class Found:
    """A phone number in a text: ``text[start:end]``, and its digits in national form."""

    start: int
    end: int
    digits: str


def phone_numbers(text: str) -> Iterator[Found]:
    """UK phone numbers in ``text``, in order (10 or 11 digits once written as 0...)."""
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if digits.startswith("0044"):
            digits = digits[4:]
        elif digits.startswith("44"):
            digits = digits[2:]
        digits = digits if digits.startswith("0") else "0" + digits
        if digits.startswith("00"):  # "+44 (0)20 …": the (0) is written, not dialled
            digits = digits[1:]
        if 10 <= len(digits) <= 11:
            yield Found(match.start(), match.end(), digits)


def mask(text: str) -> str:
    """``text`` with e-mail addresses, UK phone numbers and NHS numbers replaced by
    ``[e-mail]``, ``[phone number]`` and ``[NHS number]`` (other runs of nine or more
    digits: ``[number]``), so callers' identifiers never reach storage. Errs towards
    masking: any ten-digit number that is not a phone number counts as an NHS number."""
    text = EMAIL.sub(EMAIL_MASK, text)
    pieces: list[str] = []
    position = 0
    for found in phone_numbers(text):
        pieces.append(text[position:found.start])
        pieces.append(PHONE_MASK)
        position = found.end
    pieces.append(text[position:])
    text = "".join(pieces)
    text = _NHS_NUMBER.sub(NHS_MASK, text)
    return _LONG_NUMBER.sub(NUMBER_MASK, text)
