"""`aftersales seed --flush` on the feedback demo: apart from test_demo.py, whose tests share one seeded database,
because this one starts from an empty database and seeds it twice itself."""

from __future__ import annotations

from aftersales.feedback.models import Complaint, SurveyResponse
from aftersales.feedback.tests.test_demo import seed


class SeedCommandTests:
    def test_flush_replaces_the_feedback_with_identical_data(self, db):
        seed()

        def snapshot() -> list[tuple]:
            return list(
                Complaint.objects.order_by("received_at").values_list(
                    "store__code", "status", "category", "channel", "description", "received_at", "breach_count"
                )
            ) + list(SurveyResponse.objects.order_by("submitted_at", "channel").values_list("channel", "overall"))

        first = snapshot()
        seed("--flush")
        assert snapshot() == first
