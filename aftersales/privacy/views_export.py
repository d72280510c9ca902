"""A customer's export (JSON, PDF) and the erasure confirmation page.  Thin: resolve the customer (404 unless the
user handles rights requests in a store linked to them), ask the service, answer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from aftersales.customers.models import Customer
from aftersales.customers.selectors import may_on_customer
from aftersales.organisation.permissions import Capability
from aftersales.privacy.choices import RequestScope
from aftersales.privacy.erasure import erase_customer, erasure_refusals
from aftersales.privacy.export import export_customer
from aftersales.privacy.models import RightsRequest


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _customer(request: HttpRequest, pk: int) -> Customer:
    """Another group's customer, or one the user may not act on, is 404 like a missing one."""
    customer = get_object_or_404(Customer, pk=pk)
    if not may_on_customer(_user(request), Capability.HANDLE_RIGHTS_REQUESTS, customer):
        raise Http404
    return customer


def _request(request: HttpRequest, pk: int) -> RightsRequest:
    rights_request = get_object_or_404(RightsRequest.objects.select_related("customer"), pk=pk)
    _customer(request, rights_request.customer_id)
    return rights_request


def _answer(request: HttpRequest, customer: Customer, kind: str, rights_request: RightsRequest | None) -> HttpResponse:
    # The customer's language: Chinese unless the handler asks for English (customers have no language field).
    language = "en" if request.GET.get("language") == "en" else "zh-hans"
    try:
        export = export_customer(customer=customer, by=_user(request), language=language, rights_request=rights_request)
    except ValidationError as error:
        # Only a request's export can be refused this way (identity not yet checked): back to the request.
        for message in error.messages:
            messages.error(request, message)
        assert rights_request is not None  # noqa: S101 - a customer's own export has no such check
        return redirect("privacy:request-detail", pk=rights_request.pk)
    if kind == "json":
        response = HttpResponse(export.json_bytes, content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(export.pdf_bytes, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{export.filename_stem}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


def customer_export_json(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, _customer(request, pk), "json", None)


def customer_export_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, _customer(request, pk), "pdf", None)


def request_export_json(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = _request(request, pk)
    return _answer(request, rights_request.customer, "json", rights_request)


def request_export_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    rights_request = _request(request, pk)
    return _answer(request, rights_request.customer, "pdf", rights_request)


def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the legal reasons the erasure must wait, or the form (the customer's name typed to confirm).
    POST: erase.  An erasure a customer asked for is answered on their rights request's page (which checks the
    identity and closes the request); this page is the desk's erasure outside a request."""
    customer = _customer(request, pk)
    rights_request = None
    scope = request.POST.get("scope") or request.GET.get("scope") or "all"
    if scope not in RequestScope.values:
        scope = RequestScope.ALL
    errors: list[str] = []
    result = None
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != customer.name:
            errors.append("confirm_name")
        else:
            try:
                result = erase_customer(
                    customer=customer, by=_user(request), scope=scope, rights_request=rights_request
                )
            except ValidationError:
                pass  # the reasons are shown below, read again
    refusals = [] if result else erasure_refusals(customer, scope=scope)
    return render(
        request,
        "privacy/export_erase.html",
        {
            "customer": customer,
            "scope": scope,
            "scope_label": RequestScope(scope).label,
            "rights_request": rights_request,
            "refusals": refusals,
            "errors": errors,
            "result": result,
        },
        status=422 if errors and request.method == "POST" else 200,
    )
