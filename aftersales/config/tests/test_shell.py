"""The web shell: home page, navigation per role, language, Django admin for administrators."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user
from aftersales.organisation.choices import Role

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "admin:index",
    "admin:organisation_store_changelist",
    "admin:organisation_membership_changelist",
    "admin:organisation_settingchange_changelist",
    "admin:customers_customer_changelist",
    "admin:customers_vehicle_changelist",
    "admin:core_auditentry_changelist",
    "admin:auth_user_changelist",
]


class HomeTests:
    def test_the_home_page_counts_only_the_users_stores(self, client, cast):
        make_customer(cast.store_a)
        make_customer(cast.store_b)
        make_customer(cast.store_b)
        client.force_login(cast.alice)
        html = client.get(reverse("home")).content.decode()
        assert 'id="figure-customers">1<' in html
        client.force_login(cast.grace)
        html = client.get(reverse("home")).content.decode()
        assert 'id="figure-customers">3<' in html
        assert 'data-chart="registrations-chart"' in html

    def test_an_external_auditor_sees_their_audits_and_no_customer_figures(self, client, cast):
        make_customer(cast.store_a)
        shopper = make_user("shopper", Role.AUDITOR, group=cast.group)
        client.force_login(shopper)
        html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="figure-customers"' not in html
        assert 'data-chart="registrations-chart"' not in html
        assert 'id="quality-audits-to-do"' in html
        assert 'id="quality-findings"' not in html  # findings are the stores' business, not the shopper's

    def test_a_store_manager_sees_the_findings_and_sops_to_read(self, client, cast):
        client.force_login(cast.mia)
        html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="quality-findings"' in html
        assert 'id="quality-sops-to-read"' in html
        assert 'id="quality-audits-to-do"' not in html
        assert 'id="figure-customers">' in html

    def test_a_user_without_a_store_is_told_what_to_do(self, client, db):
        loner = get_user_model().objects.create_user("loner", password="x")
        client.force_login(loner)
        assert "Ask your administrator" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    @pytest.mark.parametrize(
        ("persona", "shown", "hidden"),
        [
            (
                "alice",
                ["/customers/", "/feedback/recovery/", "/feedback/complaints/"],
                ["/organisation/settings/", "/organisation/audit/", "/admin/", "/feedback/follow-ups/"],
            ),
            ("tom", ["/customers/"], ["/organisation/settings/", "/organisation/audit/", "/feedback/complaints/"]),
            (
                "mia",
                ["/customers/", "/organisation/settings/", "/organisation/audit/", "/feedback/follow-ups/"],
                ["/admin/"],
            ),
            (
                "grace",
                # Recovery is shown: second breaches escalate to the group manager, who reads the tasks.
                [
                    "/customers/",
                    "/organisation/settings/",
                    "/organisation/stores/",
                    "/feedback/capa/",
                    "/feedback/recovery/",
                ],
                ["/admin/", "/feedback/follow-ups/"],
            ),
        ],
    )
    def test_each_role_sees_its_own_navigation(self, client, cast, persona, shown, hidden):
        client.force_login(getattr(cast, persona))
        html = client.get(reverse("home")).content.decode()
        nav = html[html.index('id="mainnav"') : html.index("</nav>")]
        for url in shown:
            assert f'href="{url}"' in nav, url
        for url in hidden:
            assert f'href="{url}"' not in nav, url


class LanguageTests:
    def test_the_browser_language_decides_and_chinese_is_the_default(self, client, db):
        assert 'lang="en"' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
        assert 'lang="zh-hans"' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh").content.decode()
        assert 'lang="zh-hans"' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()

    def test_the_switch_works_before_logging_in(self, client, db):
        response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
        assert response.status_code == 302
        assert 'lang="en"' in client.get("/accounts/login/").content.decode()


class AdminTests:
    @pytest.mark.parametrize("name", ADMIN_PAGES)
    def test_every_admin_list_opens_for_an_administrator(self, client, cast, name):
        make_customer(cast.store_a)
        admin = get_user_model().objects.create_superuser("root", password="x")
        client.force_login(admin)
        assert client.get(reverse(name)).status_code == 200

    def test_staff_without_admin_rights_cannot_open_the_admin(self, client, cast):
        client.force_login(cast.mia)
        assert client.get(reverse("admin:index")).status_code == 302

    def test_the_admin_never_shows_personal_fields_in_clear(self, client, cast):
        customer = make_customer(cast.store_a, phone="13812345678")
        client.force_login(get_user_model().objects.create_superuser("root", password="x"))
        html = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
        assert "13812345678" not in html and "phone_encrypted" not in html


class VoiceOfTheCustomerOnHomeTests:
    """The home page counts what is waiting in the voice of the customer, for the roles that do that work."""

    def _world(self, cast):
        import datetime as dt

        from aftersales.config.testing import make_user
        from aftersales.core import clock
        from aftersales.feedback import services
        from aftersales.organisation.choices import Role

        customer = make_customer(cast.store_a)
        now = clock.now()
        services.complaint_log(
            store=cast.store_a,
            customer=customer,
            channel="phone",
            category="waiting",
            priority="general",
            description="等了三个小时",
            received_at=now - dt.timedelta(hours=3),  # the 2-hour acknowledge clock has run out
            by=cast.alice,
        )
        services.complaint_log(
            store=cast.store_b,
            customer=make_customer(cast.store_b),
            channel="phone",
            category="price",
            priority="general",
            description="价格不透明",
            by=cast.carol,
        )
        return make_user("ann", Role.AGENT, store=cast.store_a)

    def test_counts_are_the_users_stores_only_and_overdue_is_flagged(self, client, cast):
        agent = self._world(cast)
        client.force_login(cast.alice)
        html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        strip = html[html.index('id="voice-today"') :]
        complaints = strip[strip.index('id="voice-complaints"') : strip.index('id="voice-suggestions"')]
        assert '<div class="as-figure">1</div>' in complaints
        assert "1 past a deadline" in complaints
        assert 'id="voice-recovery"' in strip and 'id="voice-follow-ups"' not in strip  # advisors do not call
        client.force_login(agent)
        html = client.get(reverse("home")).content.decode()
        assert 'id="voice-follow-ups"' in html

    def test_a_technician_sees_no_voice_strip(self, client, cast):
        self._world(cast)
        client.force_login(cast.tom)
        assert 'id="voice-today"' not in client.get(reverse("home")).content.decode()
