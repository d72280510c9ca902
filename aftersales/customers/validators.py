"""Chinese identifiers: mobile numbers, resident ID numbers, licence plates, VINs.

Each `normalize_*` returns the canonical form or raises ValidationError with a message that says
what is wrong; callers attach the field name.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE_INVALID = _("Enter a mainland China mobile number: 11 digits starting with 13–19, e.g. 13812345678.")
ID_LENGTH = _("A resident ID number has 18 characters: 17 digits and a final digit or X.")
ID_DATE = _("The ID number's birth date ({date}) is not a real date or lies in the future.")
ID_REGION = _("The ID number's first two digits ({code}) are not a Chinese province code.")
ID_CHECKSUM = _("The ID number's check character is wrong: expected {expected}, got {got}. Please re-check the number.")
PLATE_INVALID = _(
    "Enter a licence plate such as 沪A12345, or a new-energy plate such as 沪AD12345 (letters I and O are not used)."
)
VIN_LENGTH = _("A VIN has exactly 17 letters and digits.")
VIN_LETTERS = _("A VIN never contains the letters I, O or Q.")
VIN_CHECK = _("The VIN's check digit (9th character) should be {expected}, not {got}. Please re-check the VIN.")

_SEPARATORS = re.compile(r"[\s\-·.•]")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

# GB 11643-1999: weights for the first 17 digits and the check character for each remainder mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCE_CODES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    }
)

PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # plate letters never include I or O
_PLATE_REGULAR = re.compile(rf"^[{PROVINCE_CHARS}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]$")
_PLATE_NEV_SMALL = re.compile(rf"^[{PROVINCE_CHARS}][{_LETTER}][DF][{_LETTER}0-9][0-9]{{4}}$")
_PLATE_NEV_LARGE = re.compile(rf"^[{PROVINCE_CHARS}][{_LETTER}][0-9]{{5}}[DF]$")

# ISO 3779 / GB 16735: transliteration of letters and the position weights for the check digit.
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    "A": 1,
    "B": 2,
    "C": 3,
    "D": 4,
    "E": 5,
    "F": 6,
    "G": 7,
    "H": 8,
    "J": 1,
    "K": 2,
    "L": 3,
    "M": 4,
    "N": 5,
    "P": 7,
    "R": 9,
    "S": 2,
    "T": 3,
    "U": 4,
    "V": 5,
    "W": 6,
    "X": 7,
    "Y": 8,
    "Z": 9,
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
# World manufacturer regions whose VINs carry a check digit in position 9:
# North America (1–5) and China (L, GB 16735).
_VIN_CHECKED_REGIONS = frozenset("12345L")


def _plain(value: object) -> str:
    """Full-width characters typed with a Chinese input method (１３８, Ａ) become their ASCII forms."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(value or "")))


def normalize_mobile(value: str) -> str:
    digits = _plain(value)
    digits = re.sub(r"^(\+86|0086|86)(?=1[0-9]{10}$)", "", digits)
    if not _MOBILE.match(digits):
        raise ValidationError(MOBILE_INVALID, code="invalid_mobile")
    return digits


def id_number_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str, *, today: dt.date | None = None) -> str:
    text = _plain(value).upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", text):
        raise ValidationError(ID_LENGTH, code="invalid_id_length")
    if text[:2] not in _PROVINCE_CODES:
        raise ValidationError(str(ID_REGION).format(code=text[:2]), code="invalid_id_region")
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise ValidationError(str(ID_DATE).format(date=text[6:14]), code="invalid_id_date") from exc
    if born > (today or dt.date.today()) or born.year < 1900:  # noqa: DTZ011 - a calendar date, not an instant
        raise ValidationError(str(ID_DATE).format(date=text[6:14]), code="invalid_id_date")
    expected = id_number_check_char(text[:17])
    if text[17] != expected:
        raise ValidationError(str(ID_CHECKSUM).format(expected=expected, got=text[17]), code="invalid_id_checksum")
    return text


def normalize_plate(value: str) -> str:
    text = _plain(value).upper()
    if not (_PLATE_REGULAR.match(text) or _PLATE_NEV_SMALL.match(text) or _PLATE_NEV_LARGE.match(text)):
        raise ValidationError(PLATE_INVALID, code="invalid_plate")
    return text


def is_nev_plate(plate: str) -> bool:
    return bool(_PLATE_NEV_SMALL.match(plate) or _PLATE_NEV_LARGE.match(plate))


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: str) -> str:
    text = _plain(value).upper()
    if len(text) != 17:
        raise ValidationError(VIN_LENGTH, code="invalid_vin_length")
    if any(c in "IOQ" for c in text):
        raise ValidationError(VIN_LETTERS, code="invalid_vin_letters")
    if not _VIN_CHARS.match(text):
        raise ValidationError(VIN_LENGTH, code="invalid_vin_chars")
    if text[0] in _VIN_CHECKED_REGIONS:
        expected = vin_check_digit(text)
        if text[8] != expected:
            raise ValidationError(str(VIN_CHECK).format(expected=expected, got=text[8]), code="invalid_vin_check")
    return text


def mask_mobile(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def mask_id_number(id_number: str) -> str:
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}" if len(id_number) > 7 else "****"


def mask_plate(plate: str) -> str:
    return f"{plate[:2]}·***{plate[-2:]}" if len(plate) >= 6 else "***"


def mask_address(address: str) -> str:
    """Keep the district-level start (about 6 characters) so staff can tell where, not exactly where."""
    keep = min(6, max(len(address) // 3, 0))
    return f"{address[:keep]}****" if address else ""


def format_plate(plate: str) -> str:
    return f"{plate[:2]}·{plate[2:]}" if len(plate) > 2 else plate
