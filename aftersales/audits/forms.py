"""The forms of the audit pages: a planned audit, a spot-check draw, one checklist item's answer, the submission
(channel, time, video reference, summary), a cancellation, a finding's closure, a CAPA from several findings and a
checklist with its items.  They parse and bound the input; `audits.services` validates again and names the field,
and a refused form writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.audits.choices import SPOT_CHECK_KINDS, AnswerResult, AuditKind, MysteryChannel
from aftersales.audits.models import Audit, AuditChecklist, AuditChecklistItem, Finding, SpotCheckSample
from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.standards.choices import ProcedureStep

_A = Audit._meta
_L = AuditChecklist._meta
_I = AuditChecklistItem._meta
_F = Finding._meta
_S = SpotCheckSample._meta
DATE = forms.DateInput(attrs={"type": "date"})
MAX_PHOTOS = 6
SAMPLE_MAX = 50
SPOT_KINDS = [(k, label) for k, label in AuditKind.choices if k in SPOT_CHECK_KINDS]


def _label(meta: Any, name: str) -> Any:
    return meta.get_field(name).verbose_name


class ServiceErrors:
    """Puts a service's ValidationError next to the field it names (or above the form)."""

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)  # type: ignore[attr-defined]


class AuditPlanForm(ServiceErrors, StyledForm):
    """Add a planned audit to the quarter: which store, what kind, which checklist, who, by when."""

    prefix = "plan"
    store = forms.TypedChoiceField(label=_label(_A, "store"), coerce=int)
    kind = forms.ChoiceField(label=_label(_A, "kind"), choices=AuditKind.choices)
    checklist = forms.TypedChoiceField(label=_label(_A, "checklist"), coerce=int)
    auditor = forms.TypedChoiceField(label=_label(_A, "auditor"), coerce=int, required=False, empty_value=None)
    due_date = forms.DateField(label=_label(_A, "due_date"), widget=DATE, required=False, validators=[dates.PLANNED])

    def __init__(
        self,
        *args: Any,
        stores: list[tuple[int, str]],
        checklists: list[tuple[int, str]],
        auditors: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = stores  # type: ignore[attr-defined]
        self.fields["checklist"].choices = checklists  # type: ignore[attr-defined]
        self.fields["auditor"].choices = [("", _("Not yet assigned")), *auditors]  # type: ignore[attr-defined]


class SampleDrawForm(ServiceErrors, StyledForm):
    """Draw a random, reproducible sample of a store's orders of one month for record or video spot checks."""

    prefix = "draw"
    store = forms.TypedChoiceField(label=_label(_S, "store"), coerce=int)
    kind = forms.ChoiceField(label=_label(_S, "kind"), choices=SPOT_KINDS)
    month = forms.ChoiceField(label=_label(_S, "month"))
    size = forms.IntegerField(label=_label(_S, "size"), min_value=1, max_value=SAMPLE_MAX, initial=5)
    auditor = forms.TypedChoiceField(label=_label(_A, "auditor"), coerce=int, required=False, empty_value=None)

    def __init__(
        self,
        *args: Any,
        stores: list[tuple[int, str]],
        months: list[dt.date],
        auditors: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = stores  # type: ignore[attr-defined]
        self.fields["month"].choices = [(m.isoformat(), f"{m:%Y-%m}") for m in months]  # type: ignore[attr-defined]
        self.fields["auditor"].choices = [("", _("Not yet assigned")), *auditors]  # type: ignore[attr-defined]

    def clean_month(self) -> dt.date:
        return dt.date.fromisoformat(self.cleaned_data["month"])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """The photos taken with the phone's camera (or chosen from its gallery); the service checks each one's
    bytes and size."""

    widget = MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"})

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_("At most {n} photos per item.").format(n=MAX_PHOTOS))
        return [super(PhotosField, self).clean(f, initial) for f in files]


class AnswerForm(ServiceErrors, StyledForm):
    """One checklist item: pass, fail or not applicable, with a note and photos."""

    result = forms.ChoiceField(label=_("Result"), choices=AnswerResult.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    photos = PhotosField(label=_("Photos"), required=False)


class SubmitForm(ServiceErrors, StyledForm):
    """What the auditor adds when submitting: how and when a mystery shopper met the store, where the video is."""

    channel = forms.ChoiceField(
        label=_label(_A, "channel"), choices=[("", "—"), *MysteryChannel.choices], required=False
    )
    performed_at = forms.DateTimeField(
        label=_label(_A, "performed_at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[dates.HAPPENED],
    )
    video_reference = forms.CharField(label=_label(_A, "video_reference"), max_length=500, required=False)
    summary = forms.CharField(
        label=_label(_A, "summary"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind != AuditKind.MYSTERY_SHOPPER:
            del self.fields["channel"]
            del self.fields["performed_at"]
        if kind != AuditKind.VIDEO_CHECK:
            del self.fields["video_reference"]


class CancelForm(ServiceErrors, StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class FindingCloseForm(ServiceErrors, StyledForm):
    resolution = forms.CharField(
        label=_label(_F, "resolution"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500})
    )


class CapaFromFindingsForm(ServiceErrors, StyledForm):
    """A CAPA for several alike findings (ticked in the list)."""

    title = forms.CharField(label=_("CAPA title"), max_length=200)
    findings = forms.TypedMultipleChoiceField(label=_("Findings"), coerce=int)

    def __init__(self, *args: Any, finding_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["findings"].choices = [(pk, str(pk)) for pk in finding_ids]  # type: ignore[attr-defined]
        self.fields["findings"].error_messages["required"] = _("Tick at least one finding.")


class ChecklistForm(ServiceErrors, StyledForm):
    prefix = "checklist"
    kind = forms.ChoiceField(label=_label(_L, "kind"), choices=AuditKind.choices)
    title = forms.CharField(label=_label(_L, "title"), max_length=200)
    description = forms.CharField(
        label=_label(_L, "description"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChecklistItemForm(StyledForm):
    """One row of the checklist editor; a row left empty is skipped, a row with a weight needs its text."""

    item_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(label=_label(_I, "text"), max_length=300, required=False)
    text_en = forms.CharField(label=_label(_I, "text_en"), max_length=300, required=False)
    weight = forms.DecimalField(
        label=_label(_I, "weight"), min_value=Decimal("0.01"), max_value=999, max_digits=5, decimal_places=2
    )
    allows_na = forms.BooleanField(
        label=_label(_I, "allows_na"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    step = forms.ChoiceField(label=_label(_I, "step"), choices=[("", "—"), *ProcedureStep.choices], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weight"].required = False
        self.fields["weight"].widget.attrs.update({"step": "0.5", "inputmode": "decimal"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("text") and data.get("weight") is None:
            self.add_error("weight", _("Give the item a weight above 0."))
        if data.get("weight") is not None and not data.get("text"):
            self.add_error("text", _("Write what the auditor checks."))
        return data

    def as_item(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("text"):
            return None
        item = {
            "text": data["text"],
            "text_en": data.get("text_en") or "",
            "weight": data["weight"],
            "allows_na": bool(data.get("allows_na")),
            "step": data.get("step") or "",
        }
        if data.get("item_id"):
            item["id"] = data["item_id"]
        return item


ChecklistItemFormSet = forms.formset_factory(ChecklistItemForm, extra=3, max_num=60, absolute_max=60)
