"""The electronic bill (电子结算单) as a PDF: exactly the approved lines, Chinese rendered with the system's
CJK fonts (Debian's fonts-noto-cjk).  Where WeasyPrint's system libraries are missing, the same bill is
served as a printable HTML page instead of failing."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from aftersales.service import selectors
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.models import RepairOrder

logger = logging.getLogger(__name__)


def bill_html(request: HttpRequest | None, order: RepairOrder) -> str:
    page = selectors.order_page(order)
    # Until the car is handed over the bill can still change: it says DRAFT (草稿) on every page.
    draft = order.status != RepairOrderStatus.DELIVERED
    return render_to_string(
        "service/bill.html",
        {"page": page, "order": order, "printed_at": timezone.now(), "draft": draft},
        request=request,
    )


def bill_pdf(request: HttpRequest, order: RepairOrder) -> HttpResponse:
    html = bill_html(request, order)
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # pango/harfbuzz missing on this machine
        logger.warning("PDF bill unavailable, serving HTML: %s", exc)
        return HttpResponse(html)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}.pdf"'
    return response
