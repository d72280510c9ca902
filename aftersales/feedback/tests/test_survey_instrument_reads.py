"""The default survey instrument is reference data made by a migration (and restored by the feedback sweep);
the selector that lists its items never writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.feedback import selectors, services
from aftersales.feedback.models import SurveyInstrument

pytestmark = pytest.mark.django_db


class DefaultInstrumentTests:
    def test_a_migrated_database_has_the_default_instrument(self):
        instrument = SurveyInstrument.objects.get(is_default=True)
        assert [item.key for item in instrument.items.order_by("position")][:2] == ["overall", "recommend"]

    def test_listing_the_items_only_reads(self):
        with CaptureQueriesContext(connection) as queries:
            items = selectors.survey_items()
        assert [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")] == []
        assert len(items) == 10

    def test_without_the_instrument_the_selector_answers_nothing_and_the_sweep_restores_it(self):
        SurveyInstrument.objects.all().delete()
        assert selectors.survey_items() == []
        assert not SurveyInstrument.objects.exists()
        services.feedback_sweep()
        assert [item.key for item in selectors.survey_items()][0] == "overall"
