"""The inbox pages and the bell: one's own items only, unread first, opening marks read and leads to the record."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.notifications import services
from aftersales.notifications.models import InboxItem

from .conftest import frozen

pytestmark = pytest.mark.django_db


def notify(cast, users, key, reference="#5"):
    services.staff_notify(
        store=cast.store_a,
        users=users,
        template="suggestion_overdue",
        context={"store": "上海店", "reference": reference, "due": "2026-03-05 23:59"},
        dedupe_key=key,
        url=f"/feedback/suggestions/{reference[1:]}/",
    )


class InboxPageTests:
    def test_unread_first_then_newest_and_the_unread_filter(self, client, cast):
        with frozen(2026, 3, 6, 9, 0):
            notify(cast, [cast.alice], "a", "#1")
        with frozen(2026, 3, 6, 10, 0):
            notify(cast, [cast.alice], "b", "#2")
        with frozen(2026, 3, 6, 11, 0):
            notify(cast, [cast.alice, cast.bob], "c", "#3")
        newest = InboxItem.objects.get(recipient=cast.alice, dedupe_key=f"c:{cast.alice.pk}")
        services.inbox_item_read(item=newest, by=cast.alice)
        client.force_login(cast.alice)
        page = client.get(reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="en")
        shown = [item.title_en for item in page.context["page"].object_list]
        assert shown == ["Suggestion overdue – #2", "Suggestion overdue – #1", "Suggestion overdue – #3"]
        html = page.content.decode()
        assert "Suggestion overdue – #2" in html and 'id="inbox-bell-count">2<' in html
        unread = client.get(reverse("notifications:inbox") + "?unread=1", HTTP_ACCEPT_LANGUAGE="en")
        assert [i.title_en for i in unread.context["page"].object_list] == [
            "Suggestion overdue – #2",
            "Suggestion overdue – #1",
        ]

    def test_the_page_speaks_chinese_by_default(self, client, cast):
        notify(cast, [cast.alice], "a")
        client.force_login(cast.alice)
        html = client.get(reverse("notifications:inbox")).content.decode()
        assert "建议答复超时｜#5" in html and "Suggestion overdue" not in html

    def test_an_empty_inbox_says_what_it_is_for(self, client, cast):
        client.force_login(cast.tom)
        html = client.get(reverse("notifications:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="inbox-empty"' in html and "Whatever the product asks you to act on arrives here" in html
        assert 'id="inbox-bell-count"' not in html

    def test_opening_marks_read_and_goes_to_the_record(self, client, cast):
        notify(cast, [cast.alice, cast.bob], "a")
        mine = InboxItem.objects.get(recipient=cast.alice)
        theirs = InboxItem.objects.get(recipient=cast.bob)
        client.force_login(cast.alice)
        response = client.get(reverse("notifications:inbox-open", args=[mine.pk]))
        assert response.status_code == 302 and response["Location"] == "/feedback/suggestions/5/"
        mine.refresh_from_db()
        assert mine.read_at is not None
        # Another person's item answers exactly like a missing one.
        assert client.get(reverse("notifications:inbox-open", args=[theirs.pk])).status_code == 404
        assert client.get(reverse("notifications:inbox-open", args=[999999])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_an_item_without_a_safe_link_opens_the_inbox(self, client, cast):
        notify(cast, [cast.alice], "a")
        InboxItem.objects.update(url="https://evil.example/x")
        client.force_login(cast.alice)
        item = InboxItem.objects.get()
        assert client.get(reverse("notifications:inbox-open", args=[item.pk]))["Location"] == "/inbox/"

    def test_mark_all_read_is_a_post_of_one_s_own(self, client, cast):
        notify(cast, [cast.alice, cast.bob], "a")
        notify(cast, [cast.alice], "b")
        client.force_login(cast.alice)
        assert client.get(reverse("notifications:inbox-read-all")).status_code == 405
        response = client.post(reverse("notifications:inbox-read-all"), HTTP_ACCEPT_LANGUAGE="en", follow=True)
        assert "2 alerts marked read." in response.content.decode()
        assert list(InboxItem.objects.filter(read_at__isnull=True).values_list("recipient__username", flat=True)) == [
            "bob"
        ]

    def test_the_list_is_paginated(self, client, cast):
        for n in range(23):
            notify(cast, [cast.alice], f"k{n}", f"#{n}")
        client.force_login(cast.alice)
        first = client.get(reverse("notifications:inbox"))
        assert len(first.context["page"].object_list) == 20
        assert len(client.get(reverse("notifications:inbox") + "?page=2").context["page"].object_list) == 3


class BellTests:
    def test_the_bell_costs_one_query_whatever_the_count(self, client, cast):
        """Every staff page renders the bell: its number is one COUNT on the (recipient, read_at) index."""
        client.force_login(cast.alice)

        def bell_queries() -> list[str]:
            with CaptureQueriesContext(connection) as captured:
                client.get(reverse("home"))
            return [q["sql"] for q in captured.captured_queries if "notifications_inboxitem" in q["sql"]]

        assert len(bell_queries()) == 1
        for n in range(5):
            notify(cast, [cast.alice], f"k{n}")
        queries = bell_queries()
        assert len(queries) == 1 and "COUNT(" in queries[0]
        html = client.get(reverse("home")).content.decode()
        assert 'id="inbox-bell-count">5<' in html

    def test_the_home_page_query_count_with_the_bell(self, client, cast, django_assert_max_num_queries):
        for n in range(5):
            notify(cast, [cast.alice], f"k{n}")
        client.force_login(cast.alice)
        client.get(reverse("home"))  # warm the session
        with django_assert_max_num_queries(30):
            client.get(reverse("home"))

    def test_the_inbox_page_query_count_does_not_grow_with_the_items(self, client, cast):
        client.force_login(cast.alice)
        notify(cast, [cast.alice], "first")
        client.get(reverse("notifications:inbox"))

        def count() -> int:
            with CaptureQueriesContext(connection) as captured:
                client.get(reverse("notifications:inbox"))
            return len(captured.captured_queries)

        one = count()
        for n in range(10):
            notify(cast, [cast.alice], f"k{n}")
        assert count() == one

    def test_the_index_is_there(self):
        index = next(i for i in InboxItem._meta.indexes if i.name == "inbox_recipient_read_idx")
        assert index.fields == ["recipient", "read_at", "-created_at"]
