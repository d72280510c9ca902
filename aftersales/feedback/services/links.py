"""The customer's signed survey link (no account needed): names one repair order and the purpose "survey",
carries its own expiry (the store's `customer_link_days` at signing) and the order's link key, so rotating
the key on the order revokes it like every other link of the order."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.core import clock
from aftersales.core.exceptions import ApplicationError
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.models import RepairOrder

SURVEY_SALT = "aftersales.feedback.survey-link"
LINK_INVALID = gettext_noop("This link is not valid. Please use the latest link we sent you, or call the store.")
LINK_EXPIRED = gettext_noop("This link has expired. Please call the store for a new one.")
SURVEY_PAGE_NAME = "feedback:customer-survey"


def survey_link_token(order: RepairOrder, *, days: int | None = None) -> str:
    if days is None:
        days = int(setting_values_for_store(order.store)["customer_link_days"])
    expires = int(clock.now().timestamp()) + days * 86400
    return signing.dumps({"o": order.pk, "n": order.link_nonce, "e": expires, "p": "survey"}, salt=SURVEY_SALT)


def survey_link_url(order: RepairOrder) -> str:
    token = survey_link_token(order)
    path = reverse(SURVEY_PAGE_NAME, args=[token])
    return f"{getattr(settings, 'PUBLIC_BASE_URL', '').rstrip('/')}{path}"


def order_from_survey_token(token: str) -> RepairOrder:
    """The order a survey link names; a tampered, expired or revoked link is refused (ApplicationError)."""
    try:
        payload = signing.loads(token, salt=SURVEY_SALT, max_age=366 * 86400)
    except signing.SignatureExpired as exc:
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"}) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"}) from exc
    if not isinstance(payload, dict) or payload.get("p") != "survey":
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    expires, order_id, nonce = payload.get("e"), payload.get("o"), payload.get("n")
    if not isinstance(expires, int) or expires < clock.now().timestamp():
        raise ApplicationError(_(LINK_EXPIRED), {"code": "link_expired"})
    if not isinstance(order_id, int) or not isinstance(nonce, str):
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    order = (
        RepairOrder.objects.select_related("store", "customer", "vehicle", "advisor__staff_profile")
        .filter(pk=order_id, link_nonce=nonce)
        .first()
    )
    if order is None:
        raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
    return order
