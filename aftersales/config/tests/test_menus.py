"""The menus every demo role sees, read from the rendered page (the top bar, the feedback and retention menus and
the user menu's management entries).  Captured before each app declared its own entries and `config` assembled them:
the assembly must render exactly the same menus, in the same order, with the same icons and addresses."""

import re

import pytest
from django.contrib.auth import get_user_model

from aftersales.config.testing import make_user
from aftersales.organisation.choices import GROUP_ROLES, Role

pytestmark = pytest.mark.django_db

# The demo logins (organisation/demo.py DEMO_USERS) plus the foreman: username → role.
ROLES = {
    "advisor": Role.ADVISOR,
    "technician": Role.TECHNICIAN,
    "foreman": Role.FOREMAN,
    "agent": Role.AGENT,
    "parts": Role.PARTS_CLERK,
    "driver": Role.DRIVER,
    "manager": Role.MANAGER,
    "group": Role.GROUP_MANAGER,
    "quality": Role.QUALITY,
    "shopper": Role.AUDITOR,
    "privacy": Role.PRIVACY_OFFICER,
    "admin": Role.ADMIN,
}

_NAV = re.compile(r'<ul class="navbar-nav me-auto">(.*?)</ul>\s*<form', re.S)
_USER_MENU = re.compile(r'<ul class="dropdown-menu dropdown-menu-end">(.*?)</ul>', re.S)
_LINK = re.compile(
    r'<a class="(?:nav-link|dropdown-item)[^"]*" href="([^"]*)"[^>]*>'
    r'<i class="bi bi-([\w-]+)"></i> (?:<span class="as-nav-label">)?([^<]+)'
)


def menus(client, cast, username):
    role = ROLES[username]
    store = None if role in GROUP_ROLES else cast.store_a
    user = make_user(username, role, store=store, group=cast.group)
    if role == Role.ADMIN:
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    client.force_login(user)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    top = [tuple(link) for link in _LINK.findall(_NAV.search(html).group(1))]
    manage = [tuple(link) for link in _LINK.findall(_USER_MENU.search(html).group(1))]
    return {"top": top, "manage": manage}


TODAY = ("/", "house", "Today")
CUSTOMERS = ("/customers/", "people", "Customers")
WORKBENCH = ("/service/", "clipboard-check", "Workbench")
WORKSHOP = ("/service/board/", "kanban", "Workshop")
DEFERRED = ("/service/deferred/", "hourglass-split", "Deferred")
FEEDBACK = ("#", "chat-heart", "Feedback")
RECOVERY = ("/feedback/recovery/", "life-preserver", "Service recovery")
COMPLAINTS = ("/feedback/complaints/", "exclamation-octagon", "Complaints")
SUGGESTIONS = ("/feedback/suggestions/", "lightbulb", "Suggestions")
SURVEYS = ("/feedback/surveys/", "ui-checks", "Survey answers")
CAPA = ("/feedback/capa/", "arrow-repeat", "CAPA")
ISSUES = ("/feedback/issues/", "bar-chart-line", "Frequent issues")
CAMPAIGNS = ("/campaigns/", "megaphone", "Campaigns")
MY_JOBS = ("/service/my-jobs/", "wrench-adjustable", "My jobs")
PICKUPS = ("/service/pickups/", "truck", "Pick-ups")
CALLS = ("/feedback/follow-ups/", "telephone-outbound", "Follow-up calls")
STORES = ("/organisation/stores/", "shop", "Stores")
SETTINGS = ("/organisation/settings/", "sliders", "Settings")
AUDIT = ("/organisation/audit/", "journal", "Audit trail")
CALENDAR = ("/organisation/settings/calendar/", "calendar3", "Official calendar")
ADMIN = ("/admin/", "gear", "Administration")
REMINDERS = ("/reminders/", "bell", "Reminders")
INTERVALS = ("/reminders/intervals/", "speedometer2", "Service intervals")
CARE = ("/care/", "heart", "Care")
RETENTION = ("#", "arrow-through-heart", "Retention")
TIERS = ("/crm/tiers/", "layers", "Customer tiers")
PLAYBOOKS = ("/care/playbook/", "journal-check", "Care playbooks")
NUMBERS = ("#", "graph-up", "Numbers")
DASHBOARD = ("/numbers/", "speedometer", "Store dashboard")
GROUP_COMPARISON = ("/numbers/group/", "grid-3x3-gap", "Group comparison")
MY_NUMBERS = ("/numbers/me/", "person-badge", "My numbers")
MY_SCORECARD = ("/numbers/scorecards/mine/", "award", "My scorecard")
SCORECARDS = ("/numbers/scorecards/", "award", "Advisor scorecards")
WARNINGS = ("/numbers/warnings/", "exclamation-diamond", "Early warnings")
QUALITY = ("/numbers/quality/", "clipboard2-pulse", "Service quality")
KPI_REPORTS = ("/numbers/reports/", "file-earmark-bar-graph", "KPI reports")
COMMENT_ISSUES = ("/numbers/issues/", "chat-square-quote", "Issues in comments")
STAFF = ("/staff/", "person-vcard", "Staff qualifications")
CAR_ALERTS = ("/telematics/alerts/", "ev-front", "Connected-car alerts")
CAR_RULES = ("/telematics/rules/", "broadcast", "Connected-car rules")
RESCUE_BASES = ("/rescue/bases/", "geo-alt", "Rescue bases")
EHR = ("/ehr/", "cloud-upload", "E-health record uploads")
WEBHOOKS = ("/webhooks/", "broadcast", "Webhooks")
FORECAST = ("/forecast/", "calendar-week", "Demand and staffing")
OPERATIONS = ("#", "tools", "Operations")
PARTS_STOCK = ("/parts/", "box-seam", "Parts stock")
GOODS_RECEIPT = ("/parts/receive/", "box-arrow-in-down", "Goods receipt")
PARTS_ISSUE = ("/parts/issue/", "box-arrow-up-right", "Issue parts to an order")
RESCUE = ("/rescue/", "truck", "Roadside rescue")
SOPS = ("/sops/", "journal-text", "SOP library")
AUDITS = ("#", "clipboard2-check", "Audits")
AUDIT_LIST = ("/audits/", "list-check", "Audit list")
AUDIT_FINDINGS = ("/audits/findings/", "flag", "Audit findings")
AUDIT_PLAN = ("/audits/plan/", "calendar3", "Audit plan")
AUDIT_CHECKLISTS = ("/audits/checklists/", "card-checklist", "Audit checklists")
RIGHTS = ("/privacy/requests/", "shield-check", "Rights requests")
DATA_RETENTION = ("/privacy/retention/", "hourglass-split", "Data retention")

EXPECTED = {
    "advisor": {
        "top": [
            TODAY,
            CUSTOMERS,
            WORKBENCH,
            WORKSHOP,
            DEFERRED,
            OPERATIONS,
            PARTS_STOCK,
            RESCUE,
            CAR_ALERTS,
            SOPS,
            FEEDBACK,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            RETENTION,
            CAMPAIGNS,
            REMINDERS,
            NUMBERS,
            MY_NUMBERS,
            MY_SCORECARD,
        ],
        "manage": [RIGHTS],
    },
    "technician": {
        "top": [TODAY, CUSTOMERS, WORKSHOP, MY_JOBS, OPERATIONS, PARTS_STOCK, SOPS, NUMBERS, MY_NUMBERS],
        "manage": [],
    },
    "foreman": {
        "top": [TODAY, CUSTOMERS, WORKSHOP, MY_JOBS, OPERATIONS, PARTS_STOCK, RESCUE, SOPS, NUMBERS, MY_NUMBERS],
        "manage": [STAFF],
    },
    "agent": {
        "top": [
            TODAY,
            CUSTOMERS,
            WORKBENCH,
            WORKSHOP,
            OPERATIONS,
            RESCUE,
            SOPS,
            FEEDBACK,
            CALLS,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            RETENTION,
            CAMPAIGNS,
            REMINDERS,
        ],
        "manage": [RIGHTS],
    },
    "parts": {
        "top": [TODAY, CUSTOMERS, WORKSHOP, OPERATIONS, PARTS_STOCK, GOODS_RECEIPT, PARTS_ISSUE, SOPS],
        "manage": [],
    },
    # The driver's phone: today's pick-ups and drop-offs, nothing else.
    "driver": {
        "top": [TODAY, PICKUPS],
        "manage": [],
    },
    "manager": {
        "top": [
            TODAY,
            CUSTOMERS,
            RETENTION,
            TIERS,
            CAMPAIGNS,
            REMINDERS,
            CARE,
            WORKBENCH,
            WORKSHOP,
            MY_JOBS,
            DEFERRED,
            OPERATIONS,
            PARTS_STOCK,
            GOODS_RECEIPT,
            PARTS_ISSUE,
            RESCUE,
            CAR_ALERTS,
            FORECAST,
            SOPS,
            FEEDBACK,
            CALLS,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            AUDITS,
            AUDIT_LIST,
            AUDIT_FINDINGS,
            AUDIT_CHECKLISTS,
            NUMBERS,
            DASHBOARD,
            MY_NUMBERS,
            MY_SCORECARD,
            SCORECARDS,
            WARNINGS,
            QUALITY,
            KPI_REPORTS,
            COMMENT_ISSUES,
        ],
        "manage": [RESCUE_BASES, CAR_RULES, STORES, SETTINGS, AUDIT, INTERVALS, PLAYBOOKS, STAFF, EHR, RIGHTS],
    },
    "group": {
        "top": [
            TODAY,
            CUSTOMERS,
            RETENTION,
            TIERS,
            CAMPAIGNS,
            REMINDERS,
            CARE,
            WORKSHOP,
            OPERATIONS,
            PARTS_STOCK,
            RESCUE,
            CAR_ALERTS,
            FORECAST,
            SOPS,
            FEEDBACK,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            AUDITS,
            AUDIT_LIST,
            AUDIT_FINDINGS,
            AUDIT_CHECKLISTS,
            NUMBERS,
            DASHBOARD,
            GROUP_COMPARISON,
            SCORECARDS,
            WARNINGS,
            QUALITY,
            KPI_REPORTS,
            COMMENT_ISSUES,
        ],
        "manage": [
            RESCUE_BASES,
            CAR_RULES,
            STORES,
            SETTINGS,
            AUDIT,
            CALENDAR,
            INTERVALS,
            PLAYBOOKS,
            STAFF,
            EHR,
            WEBHOOKS,
        ],
    },
    # The group's quality department: what it audits (masked), the CAPAs, the audits and their plan, the SOPs.
    "quality": {
        "top": [
            TODAY,
            CUSTOMERS,
            WORKSHOP,
            FEEDBACK,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            AUDITS,
            AUDIT_LIST,
            AUDIT_FINDINGS,
            AUDIT_PLAN,
            AUDIT_CHECKLISTS,
            RETENTION,
            CAMPAIGNS,
            REMINDERS,
            OPERATIONS,
            FORECAST,
            SOPS,
            NUMBERS,
            DASHBOARD,
            WARNINGS,
            QUALITY,
            KPI_REPORTS,
            COMMENT_ISSUES,
        ],
        "manage": [],
    },
    # A mystery shopper from outside the stores: their own audits, nothing else.
    "shopper": {
        "top": [TODAY, AUDITS, AUDIT_LIST],
        "manage": [],
    },
    "privacy": {"top": [TODAY, CUSTOMERS], "manage": [AUDIT, RIGHTS, DATA_RETENTION]},
    "admin": {
        "top": [
            TODAY,
            CUSTOMERS,
            RETENTION,
            TIERS,
            CAMPAIGNS,
            REMINDERS,
            CARE,
            WORKBENCH,
            WORKSHOP,
            MY_JOBS,
            PICKUPS,
            DEFERRED,
            OPERATIONS,
            PARTS_STOCK,
            GOODS_RECEIPT,
            PARTS_ISSUE,
            RESCUE,
            CAR_ALERTS,
            FORECAST,
            SOPS,
            FEEDBACK,
            CALLS,
            RECOVERY,
            COMPLAINTS,
            SUGGESTIONS,
            SURVEYS,
            CAPA,
            ISSUES,
            AUDITS,
            AUDIT_LIST,
            AUDIT_FINDINGS,
            AUDIT_PLAN,
            AUDIT_CHECKLISTS,
            NUMBERS,
            DASHBOARD,
            GROUP_COMPARISON,
            MY_NUMBERS,
            MY_SCORECARD,
            SCORECARDS,
            WARNINGS,
            QUALITY,
            KPI_REPORTS,
            COMMENT_ISSUES,
        ],
        "manage": [
            RESCUE_BASES,
            CAR_RULES,
            STORES,
            SETTINGS,
            AUDIT,
            CALENDAR,
            INTERVALS,
            PLAYBOOKS,
            STAFF,
            EHR,
            WEBHOOKS,
            RIGHTS,
            DATA_RETENTION,
            ADMIN,
        ],
    },
}


@pytest.mark.parametrize("username", list(ROLES))
def test_each_role_sees_the_same_menus(client, cast, username):
    assert menus(client, cast, username) == EXPECTED[username]
