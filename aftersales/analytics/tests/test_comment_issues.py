"""Issues found in the customers' comments, stored and shown (issue 13 part 4): a hand-made May 2026 of store A
(complaints, a survey comment, a suggestion, a follow-up call note) gives the counts written below — negations
and praise not counted, store B and April kept apart; rescans are idempotent and follow edits; long digit runs are
masked in the stored quotes; the nightly job reads only what changed; the page refuses an advisor, another store
and a bad period (400 naming it), links each quote to its record and each issue to a prefilled CAPA, and stays
within a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.analytics import comment_issues
from aftersales.analytics.models import CommentIssue, CommentMonth, CommentSource, CommentTerm
from aftersales.analytics.periods import LOCAL_TZ, Period
from aftersales.analytics.tasks import comments_scan_task, comments_sweep_task
from aftersales.config.testing import make_customer
from aftersales.feedback import services
from aftersales.feedback.models import CallAttempt, Complaint, FollowUp
from aftersales.feedback.tests.conftest import deliver, grant_survey_consent
from aftersales.service.tests.conftest import shop  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
MAY, APRIL = Period.parse("2026-05"), Period.parse("2026-04")
URL = "/numbers/issues/"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def complain(world, text, when, *, store=None, customer=None, by=None, order=None):
    return services.complaint_log(
        store=store or world.store,
        customer=customer or world.customer,
        channel="phone",
        category="other",
        priority="general",
        description=text,
        by=by or world.cast.alice,
        received_at=when,
        order=order,
    )


@pytest.fixture
def may(shop):  # noqa: F811 - the imported fixture
    """Store A, May 2026 — what each text raises (by the lexicon):
    complaint 1 "等了三个小时，收费还贵。"                       waiting_long, price_high  (the order's advisor)
    complaint 2 "价格一点也不贵，也没有等很久，师傅很专业。"       nothing (negations, praise)
    complaint 3 "前台态度很差，爱答不理，我的电话是13812345678。"  attitude (the phone masked in the quote)
    complaint 4 "虽然有点贵，但是值得。"                           nothing (conceded and answered)
    survey comment "预约了还要排队"                                waiting_long (advisor of the order)
    suggestion "休息区太小，希望扩建。"                            environment (no advisor)
    call note "客户说工时费有点贵"                                 price_high
    So May: waiting_long 2, price_high 2, attitude 1, environment 1 — from 7 comments.
    April: one complaint "等太久了" (waiting_long 1).  Store B in May: "太贵了" (never in store A's figures)."""
    order = deliver(shop)
    complain(shop, "等了三个小时，收费还贵。", at(5, 3), order=order)
    complain(shop, "价格一点也不贵，也没有等很久，师傅很专业。", at(5, 4))
    complain(shop, "前台态度很差，爱答不理，我的电话是13812345678。", at(5, 5))
    complain(shop, "虽然有点贵，但是值得。", at(5, 6))
    grant_survey_consent(shop.customer, shop.advisor)
    services.survey_response_record(
        order=order,
        channel="delivery",
        answers={"overall": 9, "recommend": 9, "suggestions": "预约了还要排队"},
        by=shop.advisor,
        submitted_at=at(5, 7),
    )
    services.suggestion_log(
        store=shop.store,
        customer=shop.customer,
        channel="on_site",
        description="休息区太小，希望扩建。",
        by=shop.cast.alice,
        received_at=at(5, 8),
    )
    follow_up = FollowUp.objects.create(store=shop.store, order=order, due_at=at(5, 9))
    CallAttempt.objects.create(follow_up=follow_up, number=1, outcome="reached", note="客户说工时费有点贵", at=at(5, 9))
    complain(shop, "等太久了", at(4, 20))
    customer_b = make_customer(shop.cast.store_b, name="杭州客户")
    complain(shop, "太贵了", at(5, 10), store=shop.cast.store_b, customer=customer_b, by=shop.cast.carol)
    return shop


def counts(store, month: str) -> dict[str, int]:
    rows = CommentIssue.objects.filter(store=store, month=month).values_list("issue", flat=True)
    found: dict[str, int] = {}
    for code in rows:
        found[code] = found.get(code, 0) + 1
    return found


def snapshot() -> list[tuple]:
    return sorted(
        CommentIssue.objects.values_list(
            "store_id", "source_kind", "source_id", "record_id", "month", "issue", "quote", "advisor_id"
        )
    )


# --------------------------------------------------------------------------------------------------- scanning


def test_a_hand_made_month_gives_the_counts_written_by_hand(may):
    result = comment_issues.comments_scan(store=may.store, period=MAY)
    assert result.comments == 7
    assert dict(result.issues) == {"waiting_long": 2, "price_high": 2, "attitude": 1, "environment": 1}
    assert counts(may.store, "2026-05") == {"waiting_long": 2, "price_high": 2, "attitude": 1, "environment": 1}
    assert CommentMonth.objects.get(store=may.store, month="2026-05").comments == 7
    # negated and conceded complaints raise nothing
    negated = Complaint.objects.get(description__startswith="价格一点也不贵")
    conceded = Complaint.objects.get(description__startswith="虽然")
    assert not CommentIssue.objects.filter(source_kind="complaint", source_id__in=[negated.pk, conceded.pk]).exists()
    # the survey comment links to its response, the call note to its follow-up; advisors come from the order
    survey = CommentIssue.objects.get(source_kind=CommentSource.SURVEY)
    assert survey.issue == "waiting_long" and survey.advisor_id == may.advisor.pk
    call = CommentIssue.objects.get(source_kind=CommentSource.CALL_NOTE)
    assert call.record_id == FollowUp.objects.get().pk and call.issue == "price_high"
    assert CommentIssue.objects.get(source_kind=CommentSource.SUGGESTION).advisor_id is None
    # April and store B are other store-months
    assert counts(may.cast.store_b, "2026-05") == {}
    comment_issues.comments_scan(store=may.store, period=APRIL)
    assert counts(may.store, "2026-04") == {"waiting_long": 1}
    # the month's word counts (document frequencies) are stored for the emerging words
    assert CommentTerm.objects.get(store=may.store, month="2026-05", term="休息区").documents == 1


def test_a_rescan_is_idempotent_and_follows_edits(may):
    comment_issues.comments_scan(store=may.store, period=MAY)
    before = snapshot()
    comment_issues.comments_scan(store=may.store, period=MAY)
    assert snapshot() == before
    # an edited text: its old issue goes, its new one comes
    complaint = Complaint.objects.get(description__startswith="等了三个小时")
    Complaint.objects.filter(pk=complaint.pk).update(description="维修后车里很脏。")
    comment_issues.comments_scan(store=may.store, period=MAY)
    assert counts(may.store, "2026-05") == {"waiting_long": 1, "price_high": 1, "attitude": 1, "environment": 2}
    # a text moved to April leaves no row in May once April is read
    Complaint.objects.filter(pk=complaint.pk).update(received_at=at(4, 2))
    comment_issues.comments_scan(store=may.store, period=APRIL)
    assert CommentIssue.objects.get(source_kind="complaint", source_id=complaint.pk).month == "2026-04"


def test_long_digit_runs_are_masked_in_stored_quotes(may):
    comment_issues.comments_scan(store=may.store, period=MAY)
    quote = CommentIssue.objects.get(issue="attitude").quote
    assert "13812345678" not in quote
    assert quote == "前台态度很差，爱答不理，我的电话是***********"
    assert comment_issues.mask_digits("工单 138-1234-5678 和 ４４０１０６１９９００３０７ 收费300元") == (
        "工单 ***-****-**** 和 ************** 收费300元"
    )
    assert comment_issues.mask_digits("等了2个小时，多收了123456元") == "等了2个小时，多收了123456元"


def test_the_nightly_job_reads_only_the_store_months_that_changed(may):
    assert comments_sweep_task.call_local() == 3  # first run: every store-month with a text (A: Apr, May; B: May)
    assert counts(may.store, "2026-05")["waiting_long"] == 2
    read_at = dict(CommentMonth.objects.values_list("month", "scanned_at").filter(store=may.store))
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert comments_sweep_task.call_local() == 0  # nothing changed
        complain(may, "配件缺货，等了一周。", at(5, 20))
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        assert comments_sweep_task.call_local() == 1  # store A, May only
    assert counts(may.store, "2026-05")["parts"] == 1
    assert CommentMonth.objects.get(store=may.store, month="2026-04").scanned_at == read_at["2026-04"]


def test_the_read_again_task_reads_the_stores_given(may):
    assert comments_scan_task.call_local([may.store.pk], "2026-05") == 1
    assert counts(may.store, "2026-05")["price_high"] == 2
    assert not CommentMonth.objects.get(store=may.store).by_sweep  # a read on request does not move the sweep


# ------------------------------------------------------------------------------------------------------- page


def test_the_page_ranks_the_months_issues_with_quotes_links_and_capa(client, may):
    comment_issues.comments_scan(store=may.store, period=MAY)
    comment_issues.comments_scan(store=may.store, period=APRIL)
    client.force_login(may.cast.mia)
    response = client.get(URL, {"store": "SH01", "period": "2026-05"})
    assert response.status_code == 200
    page = response.context["page"]
    ranked = [(r.code, r.count, r.previous, r.change) for r in page.issues]
    # ties broken by the change, then the label: price (2, +2) before waiting (2, +1)
    assert ranked == [
        ("price_high", 2, 0, 2),
        ("waiting_long", 2, 1, 1),
        ("attitude", 1, 0, 1),
        ("environment", 1, 0, 1),
    ]
    assert page.read == 7 and page.read_previous == 1
    assert page.trend["waiting_long"] == [0, 0, 0, 0, 1, 2]  # Dec … May
    rows = {item["row"].code: item for item in response.context["rows"]}
    links = {q["quote"].kind: q["url"] for q in rows["price_high"]["quotes"]}
    assert links == {"call_note": f"/feedback/follow-ups/{FollowUp.objects.get().pk}/", "complaint": links["complaint"]}
    assert links["complaint"].startswith("/feedback/complaints/")
    capa = rows["waiting_long"]["capa_url"]
    assert capa.startswith("/feedback/capa/new/?category=waiting&month=2026-05&title=")
    # the CAPA page takes the title and the store
    form = client.get(capa).context["form"]
    assert form.initial["title"] == "Frequent issue in comments: Long wait, 2026-05 (2 comments)"
    assert form.initial["cluster_category"] == "waiting" and form.initial["store"] == may.store.pk
    by_advisor = {party["name"]: party["total"] for party in page.by_party}
    assert by_advisor[may.advisor.staff_profile.display_name] == 4  # complaint 1 (two issues), the survey, the call
    assert [c.key for c in page.categories] == ["other"]
    html = response.content.decode()
    assert "***********" in html and "13812345678" not in html


def test_the_emerging_words_come_from_the_stored_counts(may):
    for day in (11, 12, 13):
        complain(may, "充电桩坏了，没法充电。", at(5, day))
    comment_issues.comments_scan(store=may.store, period=MAY)
    page_terms = __import__("aftersales.analytics.selectors_issues", fromlist=["x"]).issues_page(
        store_ids=[may.store.pk], period=MAY, by="advisor"
    )
    top = {term.term: term.current_count for term in page_terms.emerging[:2]}
    assert top == {"充电桩": 3, "充电": 3}  # new this month, in three comments each


def test_the_group_manager_sees_the_whole_group_by_store(client, may):
    comment_issues.comments_scan(store=may.store, period=MAY)
    comment_issues.comments_scan(store=may.cast.store_b, period=MAY)
    client.force_login(may.cast.grace)
    response = client.get(URL, {"group": "g1", "period": "2026-05"})
    assert response.status_code == 200
    page = response.context["page"]
    assert {r.code: r.count for r in page.issues}["price_high"] == 3
    assert {p["name"]: p["total"] for p in page.by_party} == {"上海店": 6, "杭州店": 1}
    assert response.context["may_capa"] is False  # a CAPA belongs to a store: opened from a store's page


def test_an_advisor_is_refused_and_another_store_is_not_found(client, may):
    client.force_login(may.cast.alice)
    assert client.get(URL).status_code == 403
    client.force_login(may.cast.mia)
    assert client.get(URL, {"store": "HZ01"}).status_code == 404
    assert client.get(URL, {"group": "g1"}).status_code == 403  # a store manager does not read the group
    assert client.post(reverse("analytics:issues-read") + "?store=HZ01").status_code == 404
    client.force_login(may.cast.otto)
    assert client.get(URL, {"group": "g1"}).status_code == 404


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("2026-13", "A month is 01 to 12."), ("2026-Q2", "per month"), ("2026-07", "has not begun"), ("五月", "YYYY-MM")],
)
def test_a_bad_period_is_a_400_naming_it(client, may, raw, reason):
    client.force_login(may.cast.mia)
    response = client.get(URL, {"period": raw})
    assert response.status_code == 400
    text = response.content.decode()
    assert "“period”" in text and reason in text


def test_empty_states_say_what_to_do(client, may):
    client.force_login(may.cast.mia)
    html = client.get(URL, {"period": "2026-05"}).content.decode()
    assert 'id="issues-not-read"' in html and "read every night" in html
    comment_issues.comments_scan(store=may.store, period=Period.parse("2026-03"))
    html = client.get(URL, {"period": "2026-03"}).content.decode()
    assert 'id="issues-no-comments"' in html


def test_the_read_button_reads_the_month_again(client, may):
    client.force_login(may.cast.mia)
    response = client.post(reverse("analytics:issues-read") + "?store=SH01&period=2026-05")
    assert response.status_code == 302 and response["Location"] == "/numbers/issues/?period=2026-05&store=SH01"
    assert counts(may.store, "2026-05")["waiting_long"] == 2  # tests run the queue immediately


def _queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


def test_the_page_reads_a_fixed_number_of_queries(client, may):
    for day in range(11, 14):
        complain(may, f"等太久了，第{day}次，前台态度很差，收费太贵。", at(5, day))
    comment_issues.comments_scan(store=may.store, period=MAY)
    client.force_login(may.cast.mia)
    small = _queries(client, {"period": "2026-05"})
    for day in range(14, 31):
        complain(may, f"等太久了，第{day}次，前台态度很差，收费太贵。", at(5, day))
    comment_issues.comments_scan(store=may.store, period=MAY)
    assert _queries(client, {"period": "2026-05"}) == small
    assert small <= 30


def test_the_command_reads_a_period_again(may, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("comment_issues", "--period", "2026-Q2", "--store", "SH01")
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split('"month": ')[1][:9] for line in lines] == ['"2026-04"', '"2026-05"', '"2026-06"']
    assert counts(may.store, "2026-05")["waiting_long"] == 2
    with pytest.raises(CommandError, match="--period"):
        call_command("comment_issues", "--period", "May")
