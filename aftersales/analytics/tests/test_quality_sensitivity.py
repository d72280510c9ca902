"""SPEC §8's sensitivity on the group's comparison page: how far a criterion's weight may move before two stores
ranked with the group's model trade places — hand-computed crossings."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.analytics.quality import reads, services

# SERVQUAL, equal weights 0.2.  Store A's criterion scores (90, 10, 50, 50, 50) → 50; store B's (20, 70, 50, 50, 50)
# → 48.  Tangibles at t, the others × (1 − t)/0.8: A = 40 + 50t, B = 55 − 35t, equal at t = 15/85 = 0.17647 (below
# 0.2: B overtakes A there).  Reliability at t: A = 60 − 50t, B = 42.5 + 27.5t, equal at t = 17.5/77.5 = 0.22581.
A_SCORES = {"tangibles": 90.0, "reliability": 10.0, "responsiveness": 50.0, "assurance": 50.0, "empathy": 50.0}
B_SCORES = {"tangibles": 20.0, "reliability": 70.0, "responsiveness": 50.0, "assurance": 50.0, "empathy": 50.0}


@pytest.mark.django_db
def test_the_ranking_holds_until_the_hand_computed_crossings(cast: Any) -> None:
    model = services.model_create(user=cast.grace, group=cast.group, store=None, preset="servqual")
    rows = [
        reads.StoreRow(cast.store_a, model, 50.0, "", None, 10, A_SCORES),
        reads.StoreRow(cast.store_b, model, 48.0, "", None, 10, B_SCORES),
    ]
    found = reads.ranking_sensitivity(rows, "en")
    assert [row.name for row in found] == ["Tangibles", "Reliability", "Responsiveness", "Assurance", "Empathy"]
    tangibles, reliability = found[0], found[1]
    assert round(tangibles.lower, 4) == 0.1765 and tangibles.upper == 1.0
    assert tangibles.lower_swap == (cast.store_a.name, cast.store_b.name) and tangibles.upper_swap is None
    assert reliability.lower == 0.0 and round(reliability.upper, 4) == 0.2258
    assert reliability.upper_swap == (cast.store_a.name, cast.store_b.name)


@pytest.mark.django_db
def test_stores_with_their_own_model_or_missing_criteria_take_no_part(cast: Any) -> None:
    group_model = services.model_create(user=cast.grace, group=cast.group, store=None, preset="servqual")
    own = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    rows = [
        reads.StoreRow(cast.store_a, own, 50.0, "", None, 10, A_SCORES),
        reads.StoreRow(cast.store_b, group_model, 48.0, "", None, 10, B_SCORES),
    ]
    assert reads.ranking_sensitivity(rows, "en") == []  # one store left: no ranking to lose
    partial = {k: v for k, v in B_SCORES.items() if k != "empathy"}
    rows = [
        reads.StoreRow(cast.store_a, group_model, 50.0, "", None, 10, A_SCORES),
        reads.StoreRow(cast.store_b, group_model, 48.0, "", None, 10, partial),
    ]
    assert reads.ranking_sensitivity(rows, "en") == []


@pytest.mark.django_db
def test_the_group_page_shows_it_once_two_stores_are_ranked(client: Any, cast: Any) -> None:
    from aftersales.analytics.tests.test_quality_pages import survey_month

    services.model_create(user=cast.grace, group=cast.group, store=None, preset="servqual")
    client.force_login(cast.grace)

    def page() -> str:
        response = client.get(
            "/numbers/quality/group/", {"group": "g1", "period": "2026-05"}, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 200
        return response.content.decode()

    assert 'id="ranking-sensitivity"' not in page()  # no answers: nothing ranked
    survey_month(cast.store_a)
    survey_month(cast.store_b, surveys=((8, (4, 4, 3, 4, 4, 4, 2)), (7, (3, 5, 4, 4, 3, 3, 3))))
    html = page()
    assert 'id="ranking-sensitivity"' in html and "How firm is this ranking?" in html and "overtakes" in html


@pytest.mark.django_db
def test_the_matrix_page_lists_each_experts_cr_and_whether_it_counts(client: Any, cast: Any) -> None:
    from aftersales.config.testing import make_user
    from aftersales.organisation.choices import Role

    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    second = make_user("mgr-2", Role.MANAGER, store=cast.store_a)
    services.matrix_save(user=second, model=model, parent=None, values=[["1", "2", "1", "1", "1"],
                                                                         ["1/2", "1", "1", "1", "1"],
                                                                         ["1", "1", "1", "1", "1"],
                                                                         ["1", "1", "1", "1", "1"],
                                                                         ["1", "1", "1", "1", "1"]])  # fmt: skip
    client.force_login(cast.mia)
    url = f"/numbers/quality/model/{model.pk}/matrix/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    experts = reads.expert_matrices(model, None, [n.code for n in model.nodes.filter(parent__isnull=True)])
    assert [(e.counts, float(e.cr) < 0.1) for e in experts] == [(True, True)]
    html = page.content.decode()
    assert 'id="experts"' in html and "mgr-2" in html and "not counted" not in html
    services.node_add(user=cast.mia, model=model, parent=None, code="speed", name_zh_hans="速度", name_en="Speed")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "compared other items: not counted until compared again" in html


@pytest.mark.django_db
def test_adding_a_criterion_with_a_bad_code_names_the_field_and_saves_nothing(client: Any, cast: Any) -> None:
    model = services.model_create(user=cast.mia, group=cast.group, store=cast.store_a, preset="servqual")
    before = model.nodes.count()
    client.force_login(cast.mia)
    response = client.post(
        f"/numbers/quality/model/{model.pk}/nodes/",
        {"code": "bad code!", "name_zh_hans": "速度", "name_en": "Speed"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Code: ") and "slug" in m for m in shown), shown
    assert model.nodes.count() == before
