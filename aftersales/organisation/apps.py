from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationConfig(AppConfig):
    name = "aftersales.organisation"
    label = "organisation"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from aftersales.core.scoping import register_store_resolver
        from aftersales.organisation.permissions import ROLES_CACHE_ATTR, store_ids_with_capability
        from aftersales.organisation.selectors import store_ids_for_user

        register_store_resolver(store_ids_for_user, store_ids_with_capability, cache_attrs=(ROLES_CACHE_ATTR,))

        from aftersales.core.idempotency import register_credentials_check
        from aftersales.organisation.services import api_token_from_request

        register_credentials_check(lambda request: api_token_from_request(request) is not None)
