"""What each role may do, in its own store, in another store of its group and in another group."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from aftersales.config.testing import make_user
from aftersales.organisation.choices import GROUP_ROLES, Role
from aftersales.organisation.models import Membership
from aftersales.organisation.permissions import Capability, roles_by_store, user_can, user_roles

pytestmark = pytest.mark.django_db

C = Capability
ALL = frozenset(Capability)

# The expected matrix, written out here rather than read from ROLE_CAPABILITIES.
CUSTOMERS = {C.VIEW_CUSTOMERS, C.EDIT_CUSTOMERS, C.REVEAL_PERSONAL, C.SEE_PLATES}
ADVISOR = CUSTOMERS | {
    C.VIEW_SERVICE,
    C.BOOK,
    C.RECEIVE,
    C.VIEW_FEEDBACK,
    C.HANDLE_COMPLAINTS,
    C.HANDLE_RESCUE,
    C.VIEW_PARTS,
    C.LOG_RIGHTS_REQUESTS,  # a customer's request about their data is logged by whoever they tell
}
TECHNICIAN = {C.VIEW_CUSTOMERS, C.SEE_PLATES, C.VIEW_SERVICE, C.WORK, C.VIEW_PARTS}
EXPECTED: dict[str, frozenset[Capability]] = {
    Role.ADVISOR: frozenset(ADVISOR),
    Role.TECHNICIAN: frozenset(TECHNICIAN),
    Role.FOREMAN: frozenset(TECHNICIAN | {C.DISPATCH, C.QUALITY_CHECK, C.VIEW_STAFF_RECORDS, C.HANDLE_RESCUE}),
    Role.AGENT: frozenset(
        CUSTOMERS
        | {
            C.VIEW_SERVICE,
            C.BOOK,
            C.VIEW_FEEDBACK,
            C.FOLLOW_UP,
            C.HANDLE_COMPLAINTS,
            C.HANDLE_RESCUE,
            C.LOG_RIGHTS_REQUESTS,
        }
    ),
    # The parts clerk: the ledger, and the orders and plates to issue against.
    Role.PARTS_CLERK: frozenset({C.VIEW_CUSTOMERS, C.SEE_PLATES, C.VIEW_SERVICE, C.VIEW_PARTS, C.MANAGE_PARTS}),
    # The pick-up driver: their own jobs only (the rulebook's own=[DRIVE]); plates to find the car.
    Role.DRIVER: frozenset({C.DRIVE, C.SEE_PLATES}),
    Role.MANAGER: frozenset(
        ADVISOR
        | TECHNICIAN
        | {
            C.EDIT_STORE_SETTINGS,
            C.VIEW_AUDIT,
            C.DISPATCH,
            C.QUALITY_CHECK,
            C.FOLLOW_UP,
            C.MANAGE_CAPA,
            C.MANAGE_TIERS,
            C.MANAGE_CAMPAIGNS,
            C.VIEW_CARE,
            C.VIEW_KPIS,
            C.REVIEW_SCORECARDS,
            C.MANAGE_EVALUATION,
            C.VIEW_STAFF_RECORDS,
            C.MANAGE_STAFF_RECORDS,
            C.MANAGE_EHR,
            C.MANAGE_VEHICLE_RULES,
            C.MANAGE_PARTS,
            C.MANAGE_SOPS,
            C.VIEW_AUDITS,
            C.HANDLE_RIGHTS_REQUESTS,
        }
    ),
    Role.GROUP_MANAGER: frozenset(
        {
            C.VIEW_CUSTOMERS,
            C.EDIT_STORE_SETTINGS,
            C.EDIT_GROUP_SETTINGS,
            C.VIEW_AUDIT,
            C.VIEW_SERVICE,
            C.VIEW_FEEDBACK,
            C.MANAGE_CAPA,
            C.MANAGE_TIERS,
            C.VIEW_CARE,
            C.MANAGE_CARE,
            C.VIEW_KPIS,
            C.REVIEW_SCORECARDS,
            C.MANAGE_EVALUATION,
            C.VIEW_STAFF_RECORDS,
            C.HANDLE_RESCUE,
            C.MANAGE_EHR,
            C.SEND_VEHICLE_EVENTS,
            C.MANAGE_VEHICLE_RULES,
            C.VIEW_PARTS,
            C.MANAGE_WEBHOOKS,
            C.MANAGE_SOPS,
            C.VIEW_AUDITS,
        }
    ),
    # The group's quality department: audits and the SOP library, CAPAs, on masked data.
    Role.QUALITY: frozenset(
        {
            C.VIEW_CUSTOMERS,
            C.VIEW_SERVICE,
            C.VIEW_FEEDBACK,
            C.MANAGE_CAPA,
            C.VIEW_KPIS,
            C.MANAGE_SOPS,
            C.MANAGE_AUDITS,
            C.PERFORM_AUDITS,
            C.VIEW_AUDITS,
        }
    ),
    # A mystery shopper from outside: their own audits, nothing of the stores.
    Role.AUDITOR: frozenset({C.PERFORM_AUDITS}),
    # The group's privacy officer: customers' rights requests in every store, full personal data (audit-logged),
    # the audit trail and the retention purge.
    Role.PRIVACY_OFFICER: frozenset(
        CUSTOMERS | {C.VIEW_AUDIT, C.LOG_RIGHTS_REQUESTS, C.HANDLE_RIGHTS_REQUESTS, C.MANAGE_RETENTION}
    ),
    # Every capability but driving: an administrator is never offered as a booking's driver.
    Role.ADMIN: ALL - {C.DRIVE},
}
STORE_ROLES = [r for r in Role if r not in GROUP_ROLES]


def member(cast, role: str):
    """A fresh user holding `role` in store A (store roles) or in group G1 (group roles)."""
    if role in GROUP_ROLES:
        return make_user(f"u-{role}", role, group=cast.group)
    return make_user(f"u-{role}", role, store=cast.store_a)


def fresh(user):
    """The same user re-read, without the roles cached on the object."""
    return get_user_model().objects.get(pk=user.pk)


class ExpectedMatrixTests:
    def test_every_role_has_an_expected_row(self):
        assert set(EXPECTED) == set(Role)

    def test_no_role_but_admin_has_every_capability_and_only_drivers_drive(self):
        assert [role for role, caps in EXPECTED.items() if caps >= ALL - {C.DRIVE}] == [Role.ADMIN]
        assert [role for role, caps in EXPECTED.items() if C.DRIVE in caps] == [Role.DRIVER]


class StoreRoleTests:
    @pytest.mark.parametrize("role", STORE_ROLES)
    @pytest.mark.parametrize("capability", list(Capability))
    def test_a_store_role_may_do_exactly_its_capabilities_in_its_own_store(self, cast, role, capability):
        user = member(cast, role)
        assert user_can(user, capability, cast.store_a.pk) is (capability in EXPECTED[role])
        assert user_can(user, capability) is (capability in EXPECTED[role])

    @pytest.mark.parametrize("role", STORE_ROLES)
    @pytest.mark.parametrize("capability", list(Capability))
    def test_a_store_role_may_do_nothing_in_another_store(self, cast, role, capability):
        user = member(cast, role)
        assert user_can(user, capability, cast.store_b.pk) is False
        assert user_can(user, capability, cast.store_c.pk) is False

    @pytest.mark.parametrize("role", STORE_ROLES)
    def test_a_store_role_is_held_in_its_own_store_only(self, cast, role):
        user = member(cast, role)
        assert user_roles(user, cast.store_a.pk) == {role}
        assert user_roles(user, cast.store_b.pk) == frozenset()
        assert user_roles(user, cast.store_c.pk) == frozenset()
        assert user_roles(user) == {role}

    def test_the_cast_advisor_technician_and_manager(self, cast):
        assert user_can(cast.alice, C.REVEAL_PERSONAL, cast.store_a.pk)
        assert not user_can(cast.alice, C.EDIT_STORE_SETTINGS, cast.store_a.pk)
        assert not user_can(cast.alice, C.VIEW_AUDIT)
        assert not user_can(cast.carol, C.VIEW_CUSTOMERS, cast.store_a.pk)
        assert user_can(cast.tom, C.SEE_PLATES, cast.store_a.pk)
        assert not user_can(cast.tom, C.REVEAL_PERSONAL, cast.store_a.pk)
        assert user_can(cast.mia, C.EDIT_STORE_SETTINGS, cast.store_a.pk)
        assert not user_can(cast.mia, C.EDIT_STORE_SETTINGS, cast.store_b.pk)
        assert not user_can(cast.mia, C.EDIT_GROUP_SETTINGS)
        assert not user_can(cast.mia, C.EDIT_GROUP_SETTINGS, cast.store_a.pk)


class GroupRoleTests:
    @pytest.mark.parametrize("role", sorted(GROUP_ROLES))
    @pytest.mark.parametrize("capability", list(Capability))
    def test_a_group_role_applies_in_every_store_of_its_group(self, cast, role, capability):
        user = member(cast, role)
        for store in (cast.store_a, cast.store_b):
            assert user_can(user, capability, store.pk) is (capability in EXPECTED[role])
        assert user_can(user, capability) is (capability in EXPECTED[role])

    @pytest.mark.parametrize("role", sorted(GROUP_ROLES))
    def test_a_group_role_is_held_in_every_store_of_its_group(self, cast, role):
        user = member(cast, role)
        assert user_roles(user, cast.store_a.pk) == {role}
        assert user_roles(user, cast.store_b.pk) == {role}
        assert user_roles(user) == {role}

    def test_a_group_manager_sees_customers_but_not_their_numbers(self, cast):
        assert user_can(cast.grace, C.VIEW_CUSTOMERS, cast.store_a.pk)
        assert not user_can(cast.grace, C.REVEAL_PERSONAL, cast.store_a.pk)
        assert not user_can(cast.grace, C.SEE_PLATES, cast.store_b.pk)
        assert not user_can(cast.grace, C.EDIT_CUSTOMERS, cast.store_b.pk)

    @pytest.mark.parametrize("role", sorted(GROUP_ROLES))
    def test_a_group_role_gives_nothing_in_another_groups_store(self, cast, role):
        user = member(cast, role)
        assert user_roles(user, cast.store_c.pk) == frozenset()
        assert not any(user_can(user, capability, cast.store_c.pk) for capability in Capability)

    def test_the_other_groups_manager_may_not_edit_this_groups_store(self, cast):
        assert not user_can(cast.otto, C.EDIT_STORE_SETTINGS, cast.store_a.pk)
        assert not user_can(cast.grace, C.EDIT_STORE_SETTINGS, cast.store_c.pk)


class MixedMembershipTests:
    def test_roles_in_two_stores_are_kept_apart(self, cast):
        user = make_user("floater", Role.TECHNICIAN, store=cast.store_a)
        Membership.objects.create(user=user, group=cast.group, store=cast.store_b, role=Role.MANAGER)
        user = fresh(user)
        assert user_roles(user, cast.store_a.pk) == {Role.TECHNICIAN}
        assert user_roles(user, cast.store_b.pk) == {Role.MANAGER}
        assert user_roles(user) == {Role.TECHNICIAN, Role.MANAGER}
        assert not user_can(user, C.EDIT_STORE_SETTINGS, cast.store_a.pk)
        assert user_can(user, C.EDIT_STORE_SETTINGS, cast.store_b.pk)
        assert user_can(user, C.EDIT_STORE_SETTINGS)  # in one of their stores

    def test_two_roles_in_one_store_add_up(self, cast):
        user = make_user("double", Role.PARTS_CLERK, store=cast.store_a)
        Membership.objects.create(user=user, group=cast.group, store=cast.store_a, role=Role.TECHNICIAN)
        user = fresh(user)
        assert user_roles(user, cast.store_a.pk) == {Role.PARTS_CLERK, Role.TECHNICIAN}
        assert user_can(user, C.SEE_PLATES, cast.store_a.pk)
        assert not user_can(user, C.EDIT_CUSTOMERS, cast.store_a.pk)

    def test_a_group_role_adds_to_a_store_role(self, cast):
        user = make_user("both", Role.ADVISOR, store=cast.store_a)
        Membership.objects.create(user=user, group=cast.group, store=None, role=Role.GROUP_MANAGER)
        user = fresh(user)
        assert user_roles(user, cast.store_a.pk) == {Role.ADVISOR, Role.GROUP_MANAGER}
        assert user_roles(user, cast.store_b.pk) == {Role.GROUP_MANAGER}
        assert user_can(user, C.REVEAL_PERSONAL, cast.store_a.pk)
        assert not user_can(user, C.REVEAL_PERSONAL, cast.store_b.pk)

    def test_roles_are_read_once_per_user_object(self, cast, django_assert_num_queries):
        user = fresh(cast.alice)
        with django_assert_num_queries(1):
            for capability in Capability:
                user_can(user, capability, cast.store_a.pk)
                user_can(user, capability, cast.store_b.pk)
        assert roles_by_store(user) == {cast.store_a.pk: {Role.ADVISOR}}


class SpecialUserTests:
    def test_a_superuser_may_do_everything_everywhere(self, cast):
        root = get_user_model().objects.create_superuser("root", password="x")
        for capability in Capability:
            for store in (cast.store_a, cast.store_b, cast.store_c):
                assert user_can(root, capability, store.pk)
            assert user_can(root, capability)
        assert user_roles(root) == frozenset()  # no membership: the flag alone grants access

    def test_an_inactive_superuser_may_do_nothing(self, cast):
        root = get_user_model().objects.create_superuser("root", password="x", is_active=False)
        assert not any(user_can(root, capability, cast.store_a.pk) for capability in Capability)

    @pytest.mark.parametrize("role", list(Role))
    def test_an_inactive_member_may_do_nothing_even_in_their_own_store(self, cast, role):
        user = member(cast, role)
        user.is_active = False
        user.save()
        user = fresh(user)
        for capability in Capability:
            assert not user_can(user, capability, cast.store_a.pk)
            assert not user_can(user, capability)
        assert user_roles(user, cast.store_a.pk) == {role}  # the roles remain, the account does not act

    def test_an_anonymous_visitor_may_do_nothing_and_holds_no_role(self, cast):
        visitor = AnonymousUser()
        assert not any(user_can(visitor, capability, cast.store_a.pk) for capability in Capability)
        assert user_roles(visitor) == frozenset()
        assert user_roles(visitor, cast.store_a.pk) == frozenset()

    def test_a_user_without_membership_may_do_nothing(self, cast):
        loner = get_user_model().objects.create_user("loner", password="x")
        assert not any(user_can(loner, capability) for capability in Capability)
        assert not any(user_can(loner, capability, cast.store_a.pk) for capability in Capability)
        assert user_roles(loner) == frozenset()

    def test_a_staff_flag_alone_grants_nothing(self, cast):
        staff = get_user_model().objects.create_user("staffer", password="x", is_staff=True)
        assert not any(user_can(staff, capability, cast.store_a.pk) for capability in Capability)
