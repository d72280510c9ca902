"""The privacy pages: customers' rights requests, a customer's export and erasure, the retention purge."""

from aftersales.privacy import urls_export, urls_requests, urls_retention

app_name = "privacy"
urlpatterns = [*urls_requests.urlpatterns, *urls_export.urlpatterns, *urls_retention.urlpatterns]
