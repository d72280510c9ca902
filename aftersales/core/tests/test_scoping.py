import pytest
from django.http import Http404

from aftersales.config.testing import make_customer, make_user
from aftersales.core.scoping import forget_visible_stores, visible_store_ids
from aftersales.customers.models import Customer
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Store

pytestmark = pytest.mark.django_db


class VisibleStoresTests:
    def test_a_store_member_sees_only_their_store(self, cast):
        assert visible_store_ids(cast.alice) == {cast.store_a.pk}
        assert visible_store_ids(cast.carol) == {cast.store_b.pk}

    def test_a_group_manager_sees_every_store_of_the_group_and_no_other(self, cast):
        assert visible_store_ids(cast.grace) == {cast.store_a.pk, cast.store_b.pk}
        assert visible_store_ids(cast.otto) == {cast.store_c.pk}

    def test_an_anonymous_or_inactive_user_sees_nothing(self, cast):
        from django.contrib.auth.models import AnonymousUser

        assert visible_store_ids(AnonymousUser()) == frozenset()
        cast.bob.is_active = False
        assert visible_store_ids(cast.bob) == frozenset()

    def test_a_user_with_no_membership_sees_nothing(self, db):
        from django.contrib.auth import get_user_model

        loner = get_user_model().objects.create_user("loner", password="x")
        assert visible_store_ids(loner) == frozenset()

    def test_a_superuser_sees_every_store(self, cast):
        from django.contrib.auth import get_user_model

        root = get_user_model().objects.create_superuser("root", password="x")
        assert visible_store_ids(root) == set(Store.objects.values_list("pk", flat=True))

    def test_a_new_membership_shows_after_the_cache_is_forgotten(self, cast):
        assert visible_store_ids(cast.alice) == {cast.store_a.pk}
        make_user("alice2", Role.ADVISOR, store=cast.store_b)
        from aftersales.organisation.models import Membership

        Membership.objects.create(user=cast.alice, group=cast.group, store=cast.store_b, role=Role.ADVISOR)
        forget_visible_stores(cast.alice)
        assert visible_store_ids(cast.alice) == {cast.store_a.pk, cast.store_b.pk}


class ScopedQuerySetTests:
    def test_for_user_narrows_to_the_users_stores(self, cast):
        mine = make_customer(cast.store_a)
        theirs = make_customer(cast.store_b)
        assert list(Customer.objects.for_user(cast.alice)) == [mine]
        assert set(Customer.objects.for_user(cast.grace)) == {mine, theirs}

    def test_asking_for_another_store_explicitly_still_returns_nothing(self, cast):
        make_customer(cast.store_b)
        assert not Customer.objects.for_user(cast.alice, store_ids={cast.store_b.pk}).exists()

    def test_another_stores_row_is_a_404_like_a_missing_one(self, cast):
        theirs = make_customer(cast.store_b)
        with pytest.raises(Http404):
            Customer.objects.get_for_user_or_404(cast.alice, pk=theirs.pk)
        with pytest.raises(Http404):
            Customer.objects.get_for_user_or_404(cast.alice, pk=999999)
        with pytest.raises(Http404):
            Customer.objects.get_for_user_or_404(cast.alice, pk="not-a-number")
