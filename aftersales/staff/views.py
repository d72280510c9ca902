"""The staff qualification pages: the roster of each store (grade, certificates with their expiry state,
training hours) and one technician's page with the grade history, certificates and training records, and the
forms to record them (VIEW_STAFF_RECORDS reads, MANAGE_STAFF_RECORDS writes)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from aftersales.core import clock
from aftersales.core.scoping import store_ids_where
from aftersales.organisation.access import require
from aftersales.organisation.choices import TechnicianGrade
from aftersales.organisation.current import current_store_ids
from aftersales.organisation.models import Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.staff import selectors, services
from aftersales.staff.choices import HV_KINDS
from aftersales.staff.forms import CertificateForm, GradeForm, TrainingForm
from aftersales.staff.models import Certificate, TrainingRecord

BADGE = {
    "valid": "text-bg-success",
    "expiring": "text-bg-warning",
    "expired": "text-bg-danger",
    "not_yet": "text-bg-secondary",
}


def _alert_days(store: Store) -> int:
    return int(setting_values_for_store(store)["certificate_expiry_alert_days"])


def staff_roster(request: HttpRequest) -> HttpResponse:
    """One card per store the user may read: each technician's grade today, certificates, training hours."""
    require(request.user, selectors.READ)
    ids = sorted(current_store_ids(request) & store_ids_where(request.user, selectors.READ))
    today = clock.today()
    cards: list[dict[str, Any]] = []
    for store in Store.objects.filter(pk__in=ids).order_by("code"):
        days = _alert_days(store)
        rows = selectors.store_roster(store_id=store.pk, today=today, alert_days=days)
        senior = sum(1 for row in rows if row.grade in selectors.SENIOR_GRADES)
        cards.append(
            {
                "store": store,
                "rows": rows,
                "alert_days": days,
                "senior": senior,
                "hv": sum(1 for row in rows if row.hv_valid),
                "expiring": sum(1 for row in rows for _c, state in row.certificates if state == "expiring"),
            }
        )
    return render(request, "staff/roster.html", {"cards": cards, "today": today, "badges": BADGE})


def staff_person(request: HttpRequest, pk: int) -> HttpResponse:
    """A technician's qualifications, with the forms to record a grade, a certificate or a training course."""
    person = selectors.person_get_for_user_or_404(request.user, pk)
    may_manage = selectors.people_for(request.user, selectors.WRITE).filter(pk=person.pk).exists()
    today = clock.today()
    stores = list(Store.objects.filter(pk__in=selectors.stores_of(person)).order_by("code"))
    days = _alert_days(stores[0]) if stores else 30
    what = request.POST.get("form", "") if request.method == "POST" else ""
    grade_form = GradeForm(request.POST if what == "grade" else None, initial={"effective_from": today})
    certificate_form = CertificateForm(
        request.POST if what == "certificate" else None, request.FILES if what == "certificate" else None
    )
    training_form = TrainingForm(request.POST if what == "training" else None, initial={"finished_on": today})
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Your role may not do this."))
        forms_by_name: dict[str, Any] = {
            "grade": (grade_form, services.grade_record, _("Grade recorded.")),
            "certificate": (certificate_form, services.certificate_record, _("Certificate recorded.")),
            "training": (training_form, services.training_record, _("Training recorded.")),
        }
        if what in forms_by_name:
            form, action, done = forms_by_name[what]
            if form.is_valid():
                try:
                    action(person=person, by=request.user, **form.cleaned_data)
                except ValidationError as exc:
                    form.apply_service_errors(exc)
                else:
                    messages.success(request, done)
                    return redirect(reverse("staff:person", args=[person.pk]) + f"#{what}")
    invalid = bool(grade_form.errors or certificate_form.errors or training_form.errors)
    certificates = [
        (c, selectors.expiry_state(c, today, days))
        for c in Certificate.objects.filter(user=person).order_by("kind", "-issued_on", "-id")
    ]
    training = TrainingRecord.objects.filter(user=person).order_by("-finished_on", "-id")
    grade = selectors.grade_on(person, today)
    return render(
        request,
        "staff/person.html",
        {
            "person": person,
            "name": getattr(getattr(person, "staff_profile", None), "display_name", "") or person.get_username(),
            "stores": stores,
            "grade": grade,
            "grade_label": TechnicianGrade(grade).label if grade else "",
            "history": selectors.grade_history(person),
            "certificates": certificates,
            "hv_valid": any(c.kind in HV_KINDS and s in ("valid", "expiring") for c, s in certificates),
            "training": training,
            "training_hours": sum((t.hours for t in training), start=0),
            "alert_days": days,
            "badges": BADGE,
            "may_manage": may_manage,
            "grade_form": grade_form,
            "certificate_form": certificate_form,
            "training_form": training_form,
            "open_form": what if invalid else "",
        },
        status=400 if invalid else 200,
    )


urlpatterns: list[URLPattern] = [
    path("staff/", staff_roster, name="roster"),
    path("staff/people/<int:pk>/", staff_person, name="person"),
]
