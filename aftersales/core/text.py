"""The one rule for text typed or sent by people, used by every API schema, every form and every service.

Refused, with a message naming the field:
- lone surrogates (U+D800–U+DFFF): a JSON body may carry `"\\ud800"`, Python accepts it, but no UTF-8
  encoder (the database driver, the field encryption, a log line) can write it, so it used to end in a 500;
  and U+FFFD, the replacement character Django puts where a form body held bytes that are not UTF-8 (a
  form cannot carry a surrogate): nobody types it, it only ever means the text arrived broken;
- C0 control characters (U+0000–U+001F, NUL above all, which PostgreSQL cannot store), DEL (U+007F) and
  the C1 controls (U+0080–U+009F): no name, note or address contains them, and they break exports and SMS;
- tab, line feed and carriage return, except in multi-line fields (the notes, descriptions, reasons and
  explanations people write in a text area; `multiline=True`).

Then leading and trailing whitespace is stripped (Django's forms always did; the API now does the same so a
page and the API store the same value), and the text is normalised to Unicode NFC: the same word typed on
two input methods (a precomposed "é" or "e" + combining accent, a CJK compatibility ideograph) is stored
once, so search, duplicate checks and the keyed hashes of phone numbers and ID numbers agree.  NFC only
merges canonically equivalent spellings, so nothing a reader can see changes (NFKC, which would also fold
full-width letters, is kept for the identifiers in customers/validators.py).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_BROKEN = re.compile("[\ud800-\udfff\ufffd]")
# C0 controls other than tab, line feed and carriage return; DEL; the C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile("[\t\n\r]")

BROKEN_MESSAGE = _(
    "This value contains a broken character (a lone surrogate or bytes that are not UTF-8). Retype it without it."
)
CONTROL_MESSAGE = _("Remove the invisible control characters from this value.")
ONE_LINE_MESSAGE = _("This value must fit on one line: remove the line breaks and tabs.")


def text_problem(value: object, *, multiline: bool = True) -> ValidationError | None:
    """What is wrong with `value` under the rule, or None.  Non-text values are not this rule's business."""
    if not isinstance(value, str):
        return None
    if _BROKEN.search(value):
        return ValidationError(BROKEN_MESSAGE, code="broken_character")
    if _CONTROL.search(value):
        return ValidationError(CONTROL_MESSAGE, code="control_characters")
    if not multiline and _LINE_BREAK.search(value):
        return ValidationError(ONE_LINE_MESSAGE, code="line_break")
    return None


def clean_text(value: str, *, multiline: bool = False, strip: bool = True) -> str:
    """The rule applied to one value: raises ValidationError (no field: the caller names it) or returns the
    stripped, NFC-normalised text.  Controls are looked for before stripping, so none is silently dropped."""
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise problem
    if strip:
        value = value.strip()
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise problem
    return unicodedata.normalize("NFC", value)


def refuse_control_characters(**values: object) -> None:
    """For services: raise ValidationError naming every field whose text breaks the rule.

    Services do not know which interface a value came from, so they apply the storage part of the rule
    (surrogates and control characters; line breaks are allowed); the schemas and forms in front of them
    also refuse line breaks in single-line fields."""
    bad = {name: [problem] for name, value in values.items() if (problem := text_problem(value)) is not None}
    if bad:
        raise ValidationError(bad)
