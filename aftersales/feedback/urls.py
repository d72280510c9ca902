from aftersales.feedback.views import capa, complaints, customer, followups, issues, recovery, suggestions

app_name = "feedback"
# Customer pages (signed links, no account) first, then the staff pages (login required; each checks the
# role in the object's store).
urlpatterns = [
    *customer.urlpatterns,
    *followups.urlpatterns,
    *recovery.urlpatterns,
    *complaints.urlpatterns,
    *suggestions.urlpatterns,
    *capa.urlpatterns,
    *issues.urlpatterns,
]
