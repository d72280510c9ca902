from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "aftersales.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # The campaign's own text (written by the manager, the link already filled in) is the message: the outbox
        # renders, checks consent and quiet hours and appends the opt-out for marketing, as for every message.
        from aftersales.campaigns.services import CAMPAIGN_TEMPLATE
        from aftersales.messaging.templates import TEMPLATES

        TEMPLATES.setdefault(CAMPAIGN_TEMPLATE, {"zh-hans": ("{subject}", "{text}"), "en": ("{subject}", "{text}")})
