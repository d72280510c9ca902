"""Staff and customer pages of the voice of the customer, split by sub-domain.  Each module owns its URL
patterns (`urlpatterns`); `aftersales/feedback/urls.py` joins them under the `feedback` namespace."""
