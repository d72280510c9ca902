"""What each role may do.  Pages, the API and services ask `user_can`; nothing checks role names directly."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aftersales.organisation.choices import Role


class Capability(StrEnum):
    VIEW_CUSTOMERS = "view_customers"
    EDIT_CUSTOMERS = "edit_customers"
    REVEAL_PERSONAL = "reveal_personal"  # see a phone / ID number / address unmasked (audit-logged)
    EDIT_STORE_SETTINGS = "edit_store_settings"
    EDIT_GROUP_SETTINGS = "edit_group_settings"
    VIEW_AUDIT = "view_audit"
    SEE_PLATES = "see_plates"  # plates in full; others see 京A·***45
    VIEW_SERVICE = "view_service"  # appointments, repair orders, the workshop board
    BOOK = "book"  # make, move and cancel appointments
    RECEIVE = "receive"  # check in, inspect, write and send estimates, note desk decisions, deliver
    WORK = "work"  # move one's own jobs through the workshop states, add evidence
    DISPATCH = "dispatch"  # assign technicians and bays (派工)
    QUALITY_CHECK = "quality_check"
    VIEW_FEEDBACK = "view_feedback"  # follow-ups, surveys, complaints, suggestions, recovery, CAPA (read)
    FOLLOW_UP = "follow_up"  # call the follow-up queue, record attempts and surveys
    HANDLE_COMPLAINTS = "handle_complaints"  # log and handle complaints and suggestions, service recovery
    MANAGE_CAPA = "manage_capa"  # open and run CAPAs
    MANAGE_TIERS = "manage_tiers"  # the customer tiers page (counts, customers of a tier, RFM scores), recomputing
    MANAGE_CAMPAIGNS = "manage_campaigns"  # prepare, schedule and cancel care campaigns, read their results
    VIEW_CARE = "view_care"  # the care page: care actions taken, the win-back rate, the group's playbook (read)
    MANAGE_CARE = "manage_care"  # change the group's care playbook and its service-suggestion rules
    VIEW_KPIS = "view_kpis"  # the store's (or group's) KPI dashboards, their drill-downs and reports
    REVIEW_SCORECARDS = "review_scorecards"  # explain and mark an advisor scorecard reviewed (final)
    MANAGE_EVALUATION = "manage_evaluation"  # the evaluation model: index hierarchy, pairwise matrices (AHP weights)
    # Post connected-car events (POST /api/v1/vehicle-events): the telematics platform's integration user.
    SEND_VEHICLE_EVENTS = "send_vehicle_events"
    MANAGE_VEHICLE_RULES = "manage_vehicle_rules"  # the group's connected-car alert rules
    VIEW_STAFF_RECORDS = "view_staff_records"  # technicians' grade history, certificates and training (read)
    MANAGE_STAFF_RECORDS = "manage_staff_records"  # record a technician's grade, certificate or training
    VIEW_PARTS = "view_parts"  # the parts catalogue, stock, batches and the ledgers per part and per vehicle
    MANAGE_PARTS = "manage_parts"  # receive goods, issue to and return from order lines, stocktake, the catalogue
    MANAGE_EHR = "manage_ehr"  # the e-health record uploads: what is pending or rejected, resend, the endpoint
    # Collect customers' cars and bring them back (取送车): one's own pick-ups, with their address and phone in full.
    DRIVE = "drive"
    HANDLE_RESCUE = "handle_rescue"  # take roadside rescue calls, match, dispatch crews, record arrival and completion
    # Integrators' webhook subscriptions of the group or a store: create, change, delete, test, read the delivery log.
    MANAGE_WEBHOOKS = "manage_webhooks"
    # The SOP library: draft a new version of a procedure and approve (publish) it.  A store's variant needs it in
    # that store; the group's default needs it group-wide (a group role).  Every member of staff reads the library.
    MANAGE_SOPS = "manage_sops"
    # Audits: plan the quarter, keep the checklists, draw spot-check samples, assign auditors, fill in and submit
    # any audit of the store (the quality department).
    MANAGE_AUDITS = "manage_audits"
    PERFORM_AUDITS = "perform_audits"  # fill in and submit the audits one is the auditor of (own record only)
    VIEW_AUDITS = "view_audits"  # a store's submitted audits, their scores and findings (never one in progress)
    # Customers' rights requests under PIPL arts. 44-47 (see, copy, correct, erase, withdraw, object): log one from
    # the desk for a customer of the store and read the store's requests.
    LOG_RIGHTS_REQUESTS = "log_rights_requests"
    # Handle them: record the identity check, take ownership, answer, refuse with a reason, export a customer's
    # data, erase (anonymise) a customer.
    HANDLE_RIGHTS_REQUESTS = "handle_rights_requests"
    MANAGE_RETENTION = "manage_retention"  # the retention purge: its dry-run report, running it
    MANAGE_CALENDAR = "manage_calendar"  # enter a year's State Council holiday notice (the working-day calendar)


_C = Capability
_ADVISOR = {
    _C.LOG_RIGHTS_REQUESTS,
    _C.VIEW_CUSTOMERS,
    _C.EDIT_CUSTOMERS,
    _C.REVEAL_PERSONAL,
    _C.SEE_PLATES,
    _C.VIEW_SERVICE,
    _C.BOOK,
    _C.RECEIVE,
    _C.VIEW_FEEDBACK,
    _C.HANDLE_COMPLAINTS,
    _C.VIEW_PARTS,
    _C.HANDLE_RESCUE,
}
_TECHNICIAN = {_C.VIEW_CUSTOMERS, _C.SEE_PLATES, _C.VIEW_SERVICE, _C.WORK, _C.VIEW_PARTS}
_MANAGER = (
    _ADVISOR
    | _TECHNICIAN
    | {
        _C.EDIT_STORE_SETTINGS,
        _C.VIEW_AUDIT,
        _C.DISPATCH,
        _C.QUALITY_CHECK,
        _C.FOLLOW_UP,
        _C.MANAGE_CAPA,
        _C.MANAGE_TIERS,
        _C.MANAGE_CAMPAIGNS,
        _C.VIEW_CARE,
        _C.VIEW_KPIS,
        _C.REVIEW_SCORECARDS,
        _C.MANAGE_EVALUATION,
        _C.VIEW_STAFF_RECORDS,
        _C.MANAGE_STAFF_RECORDS,
        _C.MANAGE_PARTS,
        _C.MANAGE_EHR,
        _C.MANAGE_VEHICLE_RULES,
        _C.MANAGE_SOPS,
        _C.VIEW_AUDITS,
        _C.HANDLE_RIGHTS_REQUESTS,
    }
)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADVISOR: frozenset(_ADVISOR),
    Role.TECHNICIAN: frozenset(_TECHNICIAN),
    Role.FOREMAN: frozenset(_TECHNICIAN | {_C.DISPATCH, _C.QUALITY_CHECK, _C.VIEW_STAFF_RECORDS, _C.HANDLE_RESCUE}),
    Role.AGENT: frozenset(
        {
            _C.VIEW_CUSTOMERS,
            _C.EDIT_CUSTOMERS,
            _C.REVEAL_PERSONAL,
            _C.SEE_PLATES,
            _C.VIEW_SERVICE,
            _C.BOOK,
            _C.VIEW_FEEDBACK,
            _C.FOLLOW_UP,
            _C.HANDLE_COMPLAINTS,
            _C.HANDLE_RESCUE,
            _C.LOG_RIGHTS_REQUESTS,
        }
    ),
    Role.PARTS_CLERK: frozenset({_C.VIEW_CUSTOMERS, _C.SEE_PLATES, _C.VIEW_SERVICE, _C.VIEW_PARTS, _C.MANAGE_PARTS}),
    # The pick-up driver works only on the bookings assigned to them: no customer list, no workshop; the plate in
    # full to find the car.  DRIVE is theirs alone, so only drivers are offered when a driver is assigned.
    Role.DRIVER: frozenset({_C.DRIVE, _C.SEE_PLATES}),
    Role.MANAGER: frozenset(_MANAGER),
    # Group-wide analytics work on masked data: a group manager sees customers but not their numbers.
    Role.GROUP_MANAGER: frozenset(
        {
            _C.VIEW_CUSTOMERS,
            _C.EDIT_STORE_SETTINGS,
            _C.EDIT_GROUP_SETTINGS,
            _C.VIEW_AUDIT,
            _C.VIEW_SERVICE,
            _C.VIEW_FEEDBACK,
            _C.MANAGE_CAPA,
            _C.MANAGE_TIERS,
            _C.VIEW_CARE,
            _C.MANAGE_CARE,
            _C.VIEW_KPIS,
            _C.REVIEW_SCORECARDS,
            _C.MANAGE_EVALUATION,
            _C.VIEW_STAFF_RECORDS,
            _C.VIEW_PARTS,
            _C.HANDLE_RESCUE,
            _C.MANAGE_EHR,
            _C.SEND_VEHICLE_EVENTS,
            _C.MANAGE_VEHICLE_RULES,
            _C.MANAGE_WEBHOOKS,
            _C.MANAGE_SOPS,
            _C.VIEW_AUDITS,
        }
    ),
    # The group's quality department sees what it audits (masked like the group manager) and runs CAPAs.
    Role.QUALITY: frozenset(
        {
            _C.VIEW_CUSTOMERS,
            _C.VIEW_SERVICE,
            _C.VIEW_FEEDBACK,
            _C.MANAGE_CAPA,
            _C.VIEW_KPIS,
            _C.MANAGE_SOPS,
            _C.MANAGE_AUDITS,
            _C.PERFORM_AUDITS,
            _C.VIEW_AUDITS,
        }
    ),
    # A mystery shopper sees nothing of the stores: only the audits they are the auditor of.
    Role.AUDITOR: frozenset({_C.PERFORM_AUDITS}),
    # The privacy officer answers customers' rights requests in every store of the group: they see customers'
    # personal data in full (audit-logged) because an export or a correction needs it, and the audit trail.
    Role.PRIVACY_OFFICER: frozenset(
        {
            _C.VIEW_CUSTOMERS,
            _C.EDIT_CUSTOMERS,
            _C.REVEAL_PERSONAL,
            _C.SEE_PLATES,
            _C.VIEW_AUDIT,
            _C.LOG_RIGHTS_REQUESTS,
            _C.HANDLE_RIGHTS_REQUESTS,
            _C.MANAGE_RETENTION,
        }
    ),
    Role.ADMIN: frozenset(
        _MANAGER
        | {
            _C.EDIT_GROUP_SETTINGS,
            _C.MANAGE_CARE,
            _C.SEND_VEHICLE_EVENTS,
            _C.MANAGE_WEBHOOKS,
            _C.MANAGE_AUDITS,
            _C.PERFORM_AUDITS,
            _C.MANAGE_RETENTION,
            _C.MANAGE_CALENDAR,
        }
    ),
}


def roles_with(capability: Capability) -> tuple[str, ...]:
    """The roles that hold `capability` (e.g. who may be named as a booking's driver), in declaration order."""
    return tuple(role for role, capabilities in ROLE_CAPABILITIES.items() if capability in capabilities)


ROLES_CACHE_ATTR = "_aftersales_roles"  # forgotten by core.scoping.forget_visible_stores


def roles_by_store(user: Any) -> dict[int, frozenset[str]]:
    """{store_id: roles} for the user.  A group-wide role counts in every store of that group (and only
    there).  Cached on the user object, so a request asks the database at most twice."""
    cached = getattr(user, ROLES_CACHE_ATTR, None)
    if cached is not None:
        return cached
    from aftersales.organisation.models import Membership, Store

    result: dict[int, set[str]] = {}
    if getattr(user, "is_authenticated", False):
        group_roles: dict[int, set[str]] = {}
        # Unordered: the model's default order (by group, store) would join both tables for nothing.
        memberships = Membership.objects.filter(user=user).order_by().values_list("store_id", "group_id", "role")
        for store_id, group_id, role in memberships:
            if store_id is None:
                group_roles.setdefault(group_id, set()).add(role)
            else:
                result.setdefault(store_id, set()).add(role)
        if group_roles:
            for store_id, group_id in Store.objects.filter(group_id__in=group_roles).values_list("id", "group_id"):
                result.setdefault(store_id, set()).update(group_roles[group_id])
    frozen = {k: frozenset(v) for k, v in result.items()}
    setattr(user, ROLES_CACHE_ATTR, frozen)
    return frozen


def user_roles(user: Any, store_id: int | None = None) -> frozenset[str]:
    """Roles the user holds in `store_id` (store and group memberships); in any store when store_id is None."""
    by_store = roles_by_store(user)
    if store_id is None:
        return frozenset().union(*by_store.values()) if by_store else frozenset()
    return by_store.get(store_id, frozenset())


def user_can(user: Any, capability: Capability, store_id: int | None = None) -> bool:
    """Whether the user may do `capability` in the store (in any of their stores when store_id is None)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(capability in ROLE_CAPABILITIES.get(role, frozenset()) for role in user_roles(user, store_id))


def store_ids_with_capability(user: Any, capability: str) -> frozenset[int]:
    """The stores where the user holds `capability` (the capability resolver of `core.scoping`)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        from aftersales.core.scoping import visible_store_ids

        return visible_store_ids(user)
    return frozenset(
        store_id
        for store_id, roles in roles_by_store(user).items()
        if any(capability in ROLE_CAPABILITIES.get(role, frozenset()) for role in roles)
    )
