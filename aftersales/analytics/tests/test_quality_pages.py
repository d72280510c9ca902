"""The service-quality pages (issue 13 part 3): a hand-computed store-month through the fuzzy evaluation, the
SERVQUAL gaps and the IPA; who may see and change what; bad matrix input named and nothing saved; the live CR of
the matrix editor (htmx); the group's stores side by side; query counts that do not grow with the answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics.models import EvaluationModel, PairwiseMatrix
from aftersales.analytics.quality import reads, services
from aftersales.analytics.tests.test_kpi_hand_computed import MAY, at, closed_visit, response
from aftersales.feedback.models import SurveyAnswer, SurveyItem

pytestmark = pytest.mark.django_db

# Four post-visit surveys of May 2026 at SH01: overall score, then the 1–5 answers.
ITEMS = ("attitude", "quality", "waiting", "timeliness", "price_transparency", "explanation", "facility")
SURVEYS = (
    (10, (5, 5, 5, 5, 5, 5, 5)),
    (9, (5, 4, 4, 5, 4, 5, 4)),
    (6, (4, 3, 2, 3, 3, 4, 4)),
    (3, (3, 2, 1, 2, 3, 3, 5)),
)
# Expectations (SERVQUAL) asked of three of them: survey index → {item: expectation}.
EXPECTATIONS = {0: {"attitude": 5, "waiting": 5}, 1: {"attitude": 4, "waiting": 5}, 2: {"waiting": 4}}


def survey_month(store: Any, surveys: tuple[tuple[int, tuple[int, ...]], ...] = SURVEYS, day: int = 3) -> None:
    items = {item.key: item for item in SurveyItem.objects.filter(instrument__is_default=True)}
    for index, (overall, values) in enumerate(surveys):
        visit = closed_visit(store, at(5, day + index))
        resp = response(store, visit, "follow_up_call", overall, at(5, day + index, 15))
        for key, value in zip(ITEMS, values, strict=True):
            expected = EXPECTATIONS.get(index, {}).get(key) if surveys is SURVEYS else None
            SurveyAnswer.objects.create(response=resp, item=items[key], value=value, expectation=expected)


@pytest.fixture
def client(client: Any) -> Any:
    """Pages in English (the texts asserted below)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def servqual_store(cast: Any) -> EvaluationModel:
    """SH01 with the SERVQUAL preset (five criteria at 0.2; two indicators at ½ under responsiveness and
    assurance) and the four surveys of May."""
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    survey_month(cast.store_a)
    return model


# ------------------------------------------------------------------------------------- the maths, by hand


def test_fuzzy_evaluation_of_a_hand_computed_store_month(cast: Any, servqual_store: EvaluationModel) -> None:
    page = reads.evaluation_page(model=servqual_store, store_ids=[cast.store_a.pk], period=MAY, language="en")
    evaluation = page.fuzzy
    assert evaluation is not None and page.responses == 4
    membership = {i.node.item_key: i.membership for c in evaluation.criteria for i in c.indicators}
    # answers per grade (5, 4, 3, 2, 1) / 4
    assert membership == {
        "facility": (0.5, 0.5, 0, 0, 0),  # 5 4 4 5
        "quality": (0.25, 0.25, 0.25, 0.25, 0),  # 5 4 3 2
        "waiting": (0.25, 0.25, 0, 0.25, 0.25),  # 5 4 2 1
        "timeliness": (0.5, 0, 0.25, 0.25, 0),  # 5 5 3 2
        "price_transparency": (0.25, 0.25, 0.5, 0, 0),  # 5 4 3 3
        "explanation": (0.5, 0.25, 0.25, 0, 0),  # 5 5 4 3
        "attitude": (0.5, 0.25, 0.25, 0, 0),  # 5 5 4 3
    }
    # B = Σ global weight × membership: .2 facility + .2 quality + .1 waiting + .1 timeliness + .1 price
    #     + .1 explanation + .2 attitude
    assert evaluation.vector == pytest.approx((0.40, 0.275, 0.20, 0.10, 0.025))
    assert evaluation.grade_index == 0 and evaluation.ties == () and evaluation.grade == "Very satisfied"
    # 100·.4 + 80·.275 + 60·.2 + 40·.1 + 20·.025
    assert evaluation.score == pytest.approx(78.5)
    contributions = {c.node.code: c.contribution for c in evaluation.criteria}
    # .2 × criterion score: tangibles 90, reliability 70, responsiveness (60+75)/2, assurance (75+85)/2, empathy 85
    assert contributions == pytest.approx(
        {"tangibles": 18, "reliability": 14, "responsiveness": 13.5, "assurance": 16, "empathy": 17}
    )
    assert sum(contributions.values()) == pytest.approx(78.5)


def test_servqual_gaps_count_only_answers_with_an_expectation(cast: Any, servqual_store: EvaluationModel) -> None:
    gaps = reads.servqual_gaps([cast.store_a.pk], MAY, "en")
    by_item = {g.key: g for g in gaps.items}
    assert set(by_item) == {"attitude", "waiting"}
    assert by_item["attitude"].gap == pytest.approx(0.5) and by_item["attitude"].answers == 2  # (0 + 1) / 2
    assert by_item["attitude"].expectation == pytest.approx(4.5)
    assert by_item["waiting"].gap == pytest.approx(-1) and by_item["waiting"].answers == 3  # (0 − 1 − 2) / 3
    assert gaps.dimensions == pytest.approx({"empathy": 0.5, "responsiveness": -1})
    assert gaps.overall == pytest.approx(-0.25)


def test_ipa_importance_is_the_correlation_with_the_overall_score(cast: Any, servqual_store: EvaluationModel) -> None:
    table = reads.answer_table([cast.store_a.pk], MAY, "en")
    found = reads.importance_performance(table)
    assert found.result is not None and found.respondents == 4
    by_name = {a.name: a for a in found.result.attributes}
    # repair quality 5 4 3 2 against 10 9 6 3: Σdxdy = 12, Σdx² = 5, Σdy² = 30 → r = 12/√150
    assert by_name["Repair quality"].importance == pytest.approx(12 / 150**0.5)
    assert by_name["Repair quality"].performance == pytest.approx(3.5)
    # facility 5 4 4 5: r = −1/√30, the best mean: possible overkill
    assert by_name["Facility and environment"].importance == pytest.approx(-1 / 30**0.5)
    assert by_name["Facility and environment"].quadrant == "possible_overkill"
    assert [a.name for a in found.priorities(2)] == ["Waiting time", "Repair quality"]
    drivers = reads.key_drivers(table)
    assert drivers.result is None or drivers.result.too_small  # four answers: never trusted


# ------------------------------------------------------------------------------------- the pages


def test_the_evaluation_page_shows_grade_gaps_ipa_and_drivers(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.mia)
    page = client.get("/numbers/quality/", {"store": "SH01", "period": "2026-05"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-score="78.50"' in html and "Very satisfied" in html
    assert 'id="contributions-chart"' in html and 'id="gaps-chart"' in html and 'id="ipa-chart"' in html
    assert 'id="ipa-priorities"' in html and 'id="drivers"' in html


def test_empty_states_say_what_to_do_next(client: Any, cast: Any) -> None:
    client.force_login(cast.mia)
    html = client.get("/numbers/quality/", {"store": "SH01", "period": "2026-05"}).content.decode()
    assert 'id="evaluation-no-model"' in html and "start from SERVQUAL or J.D. Power" in html
    assert 'id="evaluation-empty"' in html and "No survey answers in 2026-05" in html
    html = client.get("/numbers/quality/model/", {"store": "SH01"}).content.decode()
    assert 'id="model-empty"' in html and 'data-preset="servqual"' in html and 'data-preset="jd_power"' in html


def test_a_manager_starts_a_model_from_a_preset_and_adds_and_removes_an_indicator(client: Any, cast: Any) -> None:
    client.force_login(cast.mia)
    response_ = client.post("/numbers/quality/model/create/", {"store": "SH01", "preset": "jd_power"})
    assert response_.status_code == 302
    model = EvaluationModel.objects.get(store=cast.store_a)
    assert model.preset == "jd_power"
    html = client.get("/numbers/quality/model/", {"store": "SH01"}).content.decode()
    assert 'data-criterion="service_quality"' in html and 'id="add-indicator"' in html
    client.post(f"/numbers/quality/model/{model.pk}/nodes/", {"criterion": "service_quality", "item_key": "waiting"})
    added = model.nodes.get(code="service_quality-waiting")
    assert added.name_en == "Waiting time" and added.local_weight == Decimal("0.5")
    client.post(f"/numbers/quality/model/{model.pk}/nodes/{added.pk}/remove/")
    assert not model.nodes.filter(code="service_quality-waiting").exists()


def test_an_advisor_is_refused_and_another_store_is_not_found(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.alice)  # advisor of SH01: no VIEW_KPIS
    assert client.get("/numbers/quality/", {"store": "SH01"}).status_code == 403
    assert client.get("/numbers/quality/model/", {"store": "SH01"}).status_code == 403
    check = client.post(f"/numbers/quality/model/{servqual_store.pk}/matrix/check/", {"level": ""})
    assert check.status_code == 403
    client.force_login(cast.mia)  # SH01's manager
    assert client.get("/numbers/quality/", {"store": "HZ01"}).status_code == 404
    other = services.model_create(user=cast.grace, group=cast.group, store=cast.store_b, preset="servqual")
    before = PairwiseMatrix.objects.count()
    grid = {f"m-{i}-{j}": "3" for i in range(5) for j in range(i + 1, 5)}
    assert client.post(f"/numbers/quality/model/{other.pk}/matrix/", {"level": "", **grid}).status_code == 404
    assert client.get(f"/numbers/quality/model/{other.pk}/matrix/").status_code == 404
    assert client.post(f"/numbers/quality/model/{other.pk}/nodes/", {"code": "x", "name_en": "x"}).status_code == 404
    assert PairwiseMatrix.objects.count() == before
    client.force_login(cast.otto)  # another group's manager
    assert client.get("/numbers/quality/group/", {"group": "g1"}).status_code == 404


def _consistent_grid(parts: list[int]) -> dict[str, str]:
    n = len(parts)
    return {f"m-{i}-{j}": f"{parts[i]}/{parts[j]}" for i in range(n) for j in range(i + 1, n)}


def test_a_non_numeric_entry_names_its_cell_and_nothing_is_saved(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.mia)
    before = {n.code: n.global_weight for n in servqual_store.nodes.all()}
    grid = {f"m-{i}-{j}": "1" for i in range(5) for j in range(i + 1, 5)}
    grid["m-0-1"] = "abc"
    page = client.post(f"/numbers/quality/model/{servqual_store.pk}/matrix/", {"level": "", **grid})
    assert page.status_code == 422
    html = page.content.decode()
    assert "Row 1, column 2" in html and 'data-cell="m-0-1"' in html and "table-danger" in html
    assert not PairwiseMatrix.objects.filter(model=servqual_store).exists()
    assert {n.code: n.global_weight for n in servqual_store.nodes.all()} == before


def test_live_cr_checks_without_saving_and_points_at_the_pairs(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.mia)
    url = f"/numbers/quality/model/{servqual_store.pk}/matrix/check/"
    good = client.post(url, {"level": "", **_consistent_grid([4, 2, 2, 1, 1])}, HTTP_HX_REQUEST="true")
    assert good.status_code == 200
    html = good.content.decode()
    assert html.lstrip().startswith("<form") and 'data-consistent="1"' in html and "CR = 0.000" in html
    assert 'data-mirror="1-0"' in html and ">1/2<" in html  # the lower triangle mirrors 2/4 as 1/2
    assert "0.400" in html  # tangibles' weight 4/10
    circle = {f"m-{i}-{j}": "1" for i in range(5) for j in range(i + 1, 5)}
    circle.update({"m-0-1": "9", "m-0-2": "9", "m-1-2": "9", "m-2-3": "9"})
    circle["m-0-2"] = "1/9"
    bad = client.post(url, {"level": "", **circle}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-consistent="0"' in bad and 'data-inconsistent="1"' in bad and "would agree with the rest" in bad
    assert not PairwiseMatrix.objects.filter(model=servqual_store).exists()
    saved = client.post(f"/numbers/quality/model/{servqual_store.pk}/matrix/", {"level": "", **circle})
    assert saved.status_code == 422 and "Inconsistent comparisons" in saved.content.decode()
    ok = client.post(
        f"/numbers/quality/model/{servqual_store.pk}/matrix/", {"level": "", **_consistent_grid([4, 2, 2, 1, 1])}
    )
    assert ok.status_code == 302
    assert servqual_store.nodes.get(code="tangibles").global_weight == Decimal("0.4")


def test_the_group_compares_its_stores(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.grace)
    page = client.get("/numbers/quality/group/", {"group": "g1", "period": "2026-05"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-store="SH01" data-score="78.50"' in html and 'data-store="HZ01" data-score=""' in html
    rows = reads.group_comparison(group=cast.group, stores=[cast.store_a, cast.store_b], period=MAY, language="en")
    assert [r.store.code for r in rows] == ["SH01", "HZ01"] and rows[0].grade == "Very satisfied"
    assert rows[0].csi is not None


# ------------------------------------------------------------------------------------- query bounds


def _queries(fn: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def test_queries_do_not_grow_with_the_answers(client: Any, cast: Any, servqual_store: Any) -> None:
    client.force_login(cast.mia)

    def read() -> None:
        reads.evaluation_page(model=servqual_store, store_ids=[cast.store_a.pk], period=MAY, language="en")

    def page() -> None:
        assert client.get("/numbers/quality/", {"store": "SH01", "period": "2026-05"}).status_code == 200

    def group() -> None:
        assert client.get("/numbers/quality/group/", {"group": "g1", "period": "2026-05"}).status_code == 200

    small = (_queries(read), _queries(page))
    assert small[0] <= 8
    survey_month(cast.store_a, SURVEYS * 3, day=10)  # three times as many answers
    survey_month(cast.store_b, SURVEYS, day=10)
    assert (_queries(read), _queries(page)) == small
    client.force_login(cast.grace)
    before = _queries(group)
    survey_month(cast.store_b, SURVEYS * 2, day=20)
    assert _queries(group) == before
