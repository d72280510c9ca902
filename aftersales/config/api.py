"""The `/api/v1/` API: routers of every app, bearer-token auth, errors that name the field."""

from aftersales.analytics.api import router as analytics_router
from aftersales.audits.api import router as audits_router
from aftersales.campaigns.api import router as campaigns_router
from aftersales.campaigns.inbound_api import router as inbound_router
from aftersales.core.api import AftersalesAPI, LocalTimeRenderer, ObjectParser, install_error_handlers, problems_router
from aftersales.customers.api import router as customers_router
from aftersales.ehr.api import router as ehr_router
from aftersales.feedback.api import router as feedback_router
from aftersales.forecast.api import router as forecast_router
from aftersales.organisation.api import BearerToken
from aftersales.organisation.api import router as organisation_router
from aftersales.parts.api import router as parts_router
from aftersales.privacy.api import router as privacy_router
from aftersales.rescue.api import router as rescue_router
from aftersales.service.api import router as service_router
from aftersales.service.api_parts import router as parts_issue_router
from aftersales.staff.api import router as staff_router
from aftersales.standards.api import router as standards_router
from aftersales.telematics.api import router as telematics_router
from aftersales.webhooks.api import router as webhooks_router

api = AftersalesAPI(
    title="aftersales API",
    version="1",
    description="After-sales service platform. Authenticate with `Authorization: Bearer TOKEN` "
    "(issue one with `aftersales token USERNAME`).",
    auth=BearerToken(),
    parser=ObjectParser(),
    renderer=LocalTimeRenderer(),
    urls_namespace="api",
    docs_url=None,  # the interactive docs page loads Swagger UI from a CDN; the schema stays at openapi.json
)
install_error_handlers(api)
api.add_router("", organisation_router)
api.add_router("", customers_router)
api.add_router("", staff_router)
api.add_router("", parts_router)
api.add_router("", standards_router)
api.add_router("", service_router)
api.add_router("", parts_issue_router)
api.add_router("", feedback_router)
api.add_router("", audits_router)
api.add_router("", campaigns_router)
api.add_router("", rescue_router)
api.add_router("", telematics_router)
api.add_router("", ehr_router)
api.add_router("", forecast_router)
api.add_router("", analytics_router)
api.add_router("", webhooks_router)
api.add_router("", privacy_router)
api.add_router("", inbound_router)  # signed by the SMS/WeChat gateway, not a bearer token
api.add_router("", problems_router)  # the problem types, readable without a token
