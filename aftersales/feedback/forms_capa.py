"""Forms of the CAPA pages: they check the shape of the input; `services.capa_*` decide and write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.core import dates
from aftersales.core.forms import StyledForm
from aftersales.feedback.choices import CapaStatus, ComplaintCategory
from aftersales.organisation.models import Store
from aftersales.standards.choices import ProcedureStep

# Ready-made KPI names for the verification step; the field stays free text (max 80 characters).
KPI_SUGGESTIONS = (
    _("Complaints in this category per month"),
    _("Average waiting time (min)"),
    _("CSAT (%)"),
    _("NPS"),
    _("Low answers on this survey item per month"),
    _("Comebacks per month"),
)


class ServiceErrorsMixin:
    """Puts a service's ValidationError next to the field it names (or above the form)."""

    def apply_service_errors(self, exc: ValidationError) -> None:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


class MonthField(forms.CharField):
    """A month typed or picked as YYYY-MM; gives the first day of that month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}"})
    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        value = super().to_python(value)
        if not value:
            return None
        return parse_month(value, error=ValidationError(self.error_messages["invalid"], code="invalid"))


def parse_month(raw: str, *, error: Exception | None = None) -> dt.date:
    """'2026-03' → 1 March 2026; anything else raises `error` (ValueError by default)."""
    try:
        year, month = raw.strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(raw)
        return dt.date(int(year), int(month), 1)
    except ValueError as exc:
        raise (error or ValueError(raw)) from exc


class CapaOpenForm(ServiceErrorsMixin, StyledForm):
    """Opening a CAPA: a title, and the source — one complaint (fixed by the page) or a cluster."""

    title = forms.CharField(label=_("Title"), max_length=200)
    store = forms.TypedChoiceField(label=_("Store"), coerce=int)
    cluster_category = forms.ChoiceField(
        label=_("Complaint category"), choices=[("", _("Choose…")), *ComplaintCategory.choices]
    )
    cluster_month = MonthField(label=_("Month of the cluster"), validators=[dates.HAPPENED])

    def __init__(
        self, *args: Any, stores: list[Store], from_complaint: bool, from_kpi: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stores = {store.pk: store for store in stores}
        if from_complaint:
            # The complaint fixes the store and the source; only the title is asked.
            for name in ("store", "cluster_category", "cluster_month"):
                del self.fields[name]
            return
        if from_kpi:
            # An early warning's KPI is the source (and later verifies the CAPA): the title and the store.
            del self.fields["cluster_category"]
            del self.fields["cluster_month"]
        if len(stores) == 1:
            del self.fields["store"]
        else:
            self.fields["store"].choices = [("", _("Choose…")), *((s.pk, s.name) for s in stores)]

    def chosen_store(self) -> Store | None:
        if "store" in self.fields:
            return self.stores.get(self.cleaned_data.get("store"))
        return next(iter(self.stores.values()), None)


class CapaUpdateForm(ServiceErrorsMixin, StyledForm):
    """The analysis and the verification; each card of the page posts only its own fields."""

    root_cause = forms.CharField(
        label=_("Root cause"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why did it happen? Ask “why” until you reach something the store can change."),
    )
    kpi_name = forms.CharField(
        label=_("KPI used to verify"), required=False, max_length=80, widget=forms.TextInput(attrs={"list": "kpis"})
    )
    kpi_before = forms.CharField(
        label=_("Before"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    kpi_after = forms.CharField(
        label=_("After"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    procedure_change = forms.CharField(
        label=_("Standard-procedure change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the standard operating procedure now says, so the problem does not come back."),
    )

    def changes(self, posted: Any) -> dict[str, Any]:
        """Only the fields that were posted, so saving one card never blanks another's."""
        return {name: self.cleaned_data[name] for name in self.fields if name in posted}


class CapaProcedureForm(ServiceErrorsMixin, StyledForm):
    """The procedure-change step: which SOP the CAPA changes (its step; the group's default or the store's variant)
    and why.  The new version's text and items are then written in the SOP editor (based on the current one)."""

    step = forms.ChoiceField(label=_("Step"), choices=ProcedureStep.choices)
    scope = forms.ChoiceField(
        label=_("Procedure"),
        choices=[("group", _("The group's default")), ("store", _("This store's variant"))],
        initial="group",
    )
    change_note = forms.CharField(
        label=_("What changed and why"),
        max_length=300,
        required=False,
        help_text=_("Shown in the version history and in the staff's inbox; the CAPA's title when left empty."),
    )


class CapaActionForm(ServiceErrorsMixin, StyledForm):
    description = forms.CharField(label=_("Corrective action"), max_length=300)
    owner = forms.TypedChoiceField(
        label=_("Owner"),
        coerce=int,
        error_messages={"invalid_choice": _("Choose a member of this store's staff.")},
    )
    # Only the ISO form the date picker sends: "01/04/2026" would be read as 4 January by an English page.
    due_date = forms.DateField(
        label=_("Due date"),
        input_formats=["%Y-%m-%d"],
        validators=[dates.PLANNED],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date as YYYY-MM-DD.")},
    )

    def __init__(self, *args: Any, staff: list[tuple], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Choose…")), *staff]


class CapaTransitionForm(ServiceErrorsMixin, StyledForm):
    to = forms.ChoiceField(choices=CapaStatus.choices, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
