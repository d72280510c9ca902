"""The staff inbox pages: the list, opening one item (marks it read, goes to the record), marking all read."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftersales.notifications import selectors, services

PAGE_SIZE = 20


def inbox_list(request: HttpRequest) -> HttpResponse:
    """Every member of staff has an inbox (no capability needed: it only ever shows one's own items)."""
    unread_only = request.GET.get("unread") == "1"
    items = selectors.inbox_list(user=request.user, unread_only=unread_only)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"page": page, "unread_only": unread_only, "unread_count": selectors.inbox_unread_count(user=request.user)},
    )


def inbox_item_open(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.inbox_item_get_for_user(user=request.user, pk=pk)
    services.inbox_item_read(item=item, by=request.user)
    if item.url and url_has_allowed_host_and_scheme(item.url, allowed_hosts={request.get_host()}):
        return redirect(item.url)
    return redirect("notifications:inbox")


@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    count = services.inbox_read_all(by=request.user)
    messages.success(
        request, ngettext("{count} alert marked read.", "{count} alerts marked read.", count).format(count=count)
    )
    return redirect("notifications:inbox")


app_name = "notifications"
urlpatterns = [
    path("inbox/", inbox_list, name="inbox"),
    path("inbox/<int:pk>/", inbox_item_open, name="inbox-open"),
    path("inbox/read-all/", inbox_read_all, name="inbox-read-all"),
]
