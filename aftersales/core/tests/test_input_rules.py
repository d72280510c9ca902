"""The text rule (core/text.py), the date bounds (core/dates.py) and how StyledForm applies both."""

import datetime as dt

import pytest
import time_machine
from django import forms
from django.core.exceptions import ValidationError

from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.core.text import (
    BROKEN_MESSAGE,
    CONTROL_MESSAGE,
    ONE_LINE_MESSAGE,
    clean_text,
    refuse_control_characters,
    text_problem,
)

REFUSED_EVERYWHERE = [
    ("x\ud800", BROKEN_MESSAGE),
    ("\udfffx", BROKEN_MESSAGE),
    ("x\ufffd", BROKEN_MESSAGE),
    ("x\x00", CONTROL_MESSAGE),
    ("x\x01", CONTROL_MESSAGE),
    ("x\x0b", CONTROL_MESSAGE),
    ("x\x1f", CONTROL_MESSAGE),
    ("x\x7f", CONTROL_MESSAGE),
    ("x\x80", CONTROL_MESSAGE),
    ("x\x85", CONTROL_MESSAGE),
    ("x\x9f", CONTROL_MESSAGE),
]


class TextRuleTests:
    @pytest.mark.parametrize(("value", "message"), REFUSED_EVERYWHERE)
    @pytest.mark.parametrize("multiline", [False, True])
    def test_refused_in_every_field(self, value, message, multiline):
        with pytest.raises(ValidationError) as caught:
            clean_text(value, multiline=multiline)
        assert caught.value.messages == [str(message)]

    @pytest.mark.parametrize("value", ["a\nb", "a\r\nb", "a\tb"])
    def test_line_breaks_and_tabs_only_in_multi_line_fields(self, value):
        assert clean_text(value, multiline=True) == value
        with pytest.raises(ValidationError) as caught:
            clean_text(value, multiline=False)
        assert caught.value.messages == [str(ONE_LINE_MESSAGE)]

    def test_surrounding_whitespace_is_stripped_before_the_one_line_check(self):
        assert clean_text("  张三\n", multiline=False) == "张三"
        assert clean_text("\u3000张三\u3000") == "张三"  # the ideographic space of Chinese input methods
        assert clean_text("  keep  ", strip=False) == "  keep  "

    def test_a_control_at_the_edge_is_not_silently_stripped(self):
        """str.strip() would remove U+001F and U+0085; the rule looks before stripping."""
        for value in ("x\x1f", "\x85x", "x\x1c"):
            with pytest.raises(ValidationError):
                clean_text(value)

    def test_nfc(self):
        assert clean_text("Jose\u0301") == "Jos\u00e9"
        assert clean_text("\uf900") == "\u8c48"  # a CJK compatibility ideograph becomes the unified one

    def test_ordinary_text_passes_unchanged(self):
        for value in ("张三", "沪A12345", "O'Brien-Smith", "😀 emoji", "ID.4 X", "a—b · c"):
            assert clean_text(value) == value

    def test_text_problem_ignores_what_is_not_text(self):
        assert text_problem(None) is None and text_problem(5) is None

    def test_services_refuse_by_field_name_and_allow_line_breaks(self):
        refuse_control_characters(notes="two\nlines", count=3, empty=None)
        with pytest.raises(ValidationError) as caught:
            refuse_control_characters(notes="ok", reason="bad\x7f", name="x\ud800")
        assert caught.value.message_dict == {"reason": [str(CONTROL_MESSAGE)], "name": [str(BROKEN_MESSAGE)]}


class DateBoundsTests:
    @time_machine.travel(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), tick=False)
    def test_limits(self):
        assert dates.HAPPENED.limits() == (dt.date(2000, 1, 1), dt.date(2026, 3, 3))
        assert dates.PLANNED.limits() == (dt.date(2025, 3, 1), dt.date(2031, 3, 6))  # 366 days back, 5 × 366 ahead
        assert dates.ANY_DAY.limits()[0] == dt.date(2000, 1, 1)

    @time_machine.travel(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), tick=False)
    @pytest.mark.parametrize(
        "value",
        [dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(1999, 12, 31), dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC)],
    )
    def test_absurd_years_are_refused_with_the_range(self, value):
        with pytest.raises(ValidationError) as caught:
            dates.HAPPENED(value)
        assert caught.value.messages == ["Enter a date between 2000-01-01 and 2026-03-03."]

    def test_inside_and_none_pass(self):
        dates.PLANNED(None)
        dates.PLANNED(dt.date.today() + dt.timedelta(days=30))


class _Sample(StyledForm):
    name = forms.CharField(max_length=20)
    note = forms.CharField(required=False, widget=forms.Textarea)
    day = forms.DateField(required=False)
    due = forms.DateField(required=False, validators=[dates.PLANNED])


class _Later(_Sample):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["added"] = forms.CharField(required=False)


class StyledFormRulesTests:
    @pytest.mark.parametrize(("value", "message"), REFUSED_EVERYWHERE)
    def test_every_text_field_follows_the_rule(self, value, message):
        form = _Sample(data={"name": value, "note": value})
        assert not form.is_valid()
        assert form.errors["name"] == [str(message)] and form.errors["note"] == [str(message)]

    def test_line_breaks_in_a_text_area_only(self):
        form = _Sample(data={"name": "a\tb", "note": " two\r\nlines "})
        assert not form.is_valid()
        assert form.errors == {"name": [str(ONE_LINE_MESSAGE)]}
        assert form.cleaned_data["note"] == "two\r\nlines"

    def test_fields_added_by_a_subclass_are_covered(self):
        form = _Later(data={"name": "ok", "added": "x\x7f"})
        assert not form.is_valid() and list(form.errors) == ["added"]

    def test_a_date_field_gets_bounds_and_keeps_its_own(self):
        form = _Sample(data={"name": "ok", "day": "9999-12-31", "due": "2000-01-05"})
        assert not form.is_valid()
        assert set(form.errors) == {"day", "due"}
        assert all("Enter a date between" in form.errors[f][0] for f in ("day", "due"))

    def test_the_rule_is_applied_once_however_often_the_form_is_cleaned(self):
        form = _Sample(data={"name": "  Jose\u0301 "})
        assert form.is_valid() and form.cleaned_data["name"] == "Jos\u00e9"
        form.full_clean()
        assert form.cleaned_data["name"] == "Jos\u00e9"
        assert sum(1 for v in form.fields["day"].validators if isinstance(v, dates.DateBounds)) == 1
