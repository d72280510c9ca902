"""The customer's own way to file a rights request: a page opened from the links they already hold (the repair
order's progress link `r/<token>/` and the survey link `feedback/survey/<token>/`).  No new token: the page
checks the same signed, expiring, revocable token the link page checked (its salt names its purpose), so rotating
the order's link key revokes this page too.  Holding the link is the identity check (IdentityMethod.SIGNED_LINK):
it was sent to the phone on record."""

from __future__ import annotations

from aftersales.core.exceptions import ApplicationError
from aftersales.feedback.services.links import order_from_survey_token
from aftersales.service.models import RepairOrder
from aftersales.service.services.links import LINK_INVALID, order_from_token

ORDER_LINK = "r"
SURVEY_LINK = "s"
LINK_KINDS = (ORDER_LINK, SURVEY_LINK)


def order_from_link(link: str, token: str) -> RepairOrder:
    """The order behind one of the customer's links; ApplicationError for a bad, expired or revoked one."""
    if link == ORDER_LINK:
        return order_from_token(token)
    if link == SURVEY_LINK:
        return order_from_survey_token(token)
    from django.utils.translation import gettext as _

    raise ApplicationError(_(LINK_INVALID), {"code": "link_invalid"})
