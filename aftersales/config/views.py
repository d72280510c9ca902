"""The web shell's own pages: the home page and the store switch."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.config.selectors import home_numbers, home_summary, quality_summary, voice_summary
from aftersales.organisation.current import current_store, current_store_ids, set_current_store


def home(request: HttpRequest) -> HttpResponse:
    store_ids = current_store_ids(request)
    summary = home_summary(user=request.user, store_ids=store_ids)
    voice = voice_summary(user=request.user, store_ids=store_ids)
    numbers = home_numbers(user=request.user, store_ids=store_ids, current=current_store(request))
    quality = quality_summary(user=request.user, store_ids=store_ids)
    context = {"summary": summary, "voice": voice, "numbers": numbers, "quality": quality}
    return render(request, "shell/home.html", context)


@require_POST
def store_switch(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("store", "")
    store_id = int(raw) if raw.isdigit() else None
    if raw and store_id is None or not set_current_store(request, store_id):
        messages.error(request, _("You do not work at that store."))
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
