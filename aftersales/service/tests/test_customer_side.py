"""The customer's side finished: the booking confirmation (duration, directions, documents, pick-up and driver),
the choice of advisor online, the estimated ready time on the progress page, the advisor's explanation at delivery,
pages and errors in the link's language, and the staff's 404/403 pages inside the shell."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.config.testing import make_customer, make_user, make_vehicle, unique_vin
from aftersales.customers.models import Customer
from aftersales.organisation.choices import Role
from aftersales.organisation.rules import Party
from aftersales.service import services
from aftersales.service.choices import RepairOrderStatus as S
from aftersales.service.models import AdvisorSlotLoad, Appointment, RepairOrder
from aftersales.service.selectors_customer import order_ready_estimate, ready_time
from aftersales.service.services.booking import NOT_AN_ADVISOR
from aftersales.service.services.links import appointment_link_token, order_link_token
from aftersales.service.services.orders import QC_CHECKLIST
from aftersales.service.tests.conftest import approved_labour, frozen, inspect, order_in_progress, shanghai, walk

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en"}  # the browser's English default


def _vehicle(shop, plate, phone):
    return make_vehicle(make_customer(shop.store, by=shop.advisor, name=f"客户{plate[-2:]}", phone=phone), plate=plate)


def _walk_in(shop, vehicle, at, service_type="repair"):
    with frozen(*at):
        return services.walk_in_register(
            store=shop.store, by=shop.advisor, service_type=service_type, plate=vehicle.plate
        )


# ---------------------------------------------------------------------------------------------------------
# Estimated ready time: the rule by hand, then from the database with a controlled clock
# ---------------------------------------------------------------------------------------------------------


class ReadyTimeRuleTests:
    NOW = shanghai(2026, 11, 23, 10, 0)

    def _at(self, status, **changes):
        kwargs = {
            "status": status,
            "now": self.NOW,
            "own_minutes": 120,
            "minutes_ahead": 210,
            "technicians": 3,
            "finishing_minutes": 30,
            "work_started_at": None,
            "entered_at": None,
        }
        return ready_time(**{**kwargs, **changes})

    def test_a_queued_car_waits_for_the_work_ahead_shared_by_the_technicians(self):
        # 10:00 + 210 min / 3 technicians (70) + 120 own + 30 finishing = 13:40 → up to the quarter: 13:45
        assert self._at("waiting") == shanghai(2026, 11, 23, 13, 45)
        assert self._at("reception", technicians=0) == shanghai(2026, 11, 23, 16, 0)  # 10:00 + 210 + 120 + 30
        assert self._at("waiting", minutes_ahead=0) == shanghai(2026, 11, 23, 12, 30)  # on a quarter: stays

    def test_in_the_bay_and_at_work(self):
        assert self._at("in_bay") == shanghai(2026, 11, 23, 12, 30)  # 10:00 + 120 + 30
        started = shanghai(2026, 11, 23, 9, 10)
        assert self._at("in_progress", work_started_at=started) == shanghai(2026, 11, 23, 11, 45)  # 11:40 → 11:45
        late = shanghai(2026, 11, 23, 7, 0)  # the standard time has passed: from now
        assert self._at("in_progress", work_started_at=late) == shanghai(2026, 11, 23, 10, 30)

    def test_quality_check_and_washing_count_the_finishing_time_from_arrival_there(self):
        assert self._at("qc", entered_at=shanghai(2026, 11, 23, 9, 50)) == shanghai(2026, 11, 23, 10, 30)  # 10:20
        assert self._at("washing", entered_at=shanghai(2026, 11, 23, 9, 0)) == shanghai(2026, 11, 23, 10, 0)

    def test_no_time_while_waiting_for_parts_or_once_ready(self):
        assert self._at("waiting_parts") is None
        assert self._at("ready") is None


class ReadyEstimateTests:
    """The store has 3 technicians (tom, sam, jun; fred is the foreman) and the catalogue's defaults: 30 min of
    quality check and wash, 90 min for a maintenance without labour lines."""

    @pytest.fixture
    def queue(self, shop):
        a = _walk_in(shop, _vehicle(shop, "沪B10001", "13900000001"), (2026, 11, 23, 8, 0))
        with frozen(2026, 11, 23, 8, 5):
            approved_labour(shop, a, "2.0")
        ours = _walk_in(shop, shop.vehicle, (2026, 11, 23, 9, 0))
        with frozen(2026, 11, 23, 9, 5):
            inspect(shop, ours)
            approved_labour(shop, ours, "1.5")
            approved_labour(shop, ours, "0.5")
            declined = services.estimate_line_add(
                order=ours, by=shop.advisor, kind="labour", description="四轮定位", standard_hours="1.0"
            )
            services.estimate_send(estimate=declined.estimate, by=shop.advisor)
            services.estimate_line_decide(line=declined, decision="declined", channel="desk", by=shop.advisor)
        b = _walk_in(shop, _vehicle(shop, "沪B10002", "13900000002"), (2026, 11, 23, 9, 30), "maintenance")
        RepairOrder.objects.filter(pk=b.pk).update(priority=True)  # a tier-A customer: the priority lane
        d = _walk_in(shop, _vehicle(shop, "沪B10003", "13900000003"), (2026, 11, 23, 9, 45))
        with frozen(2026, 11, 23, 9, 50):
            approved_labour(shop, d, "3.0")  # arrived after ours: not ahead
        return {"a": a, "b": b, "ours": ours, "d": d}

    def test_a_queued_car(self, shop, queue, django_assert_num_queries):
        with frozen(2026, 11, 23, 10, 0), django_assert_num_queries(2):
            estimate = order_ready_estimate(order_id=queue["ours"].pk)
        # ahead: A 2.0 h + B (priority, maintenance, no lines: 90 min) = 210 min, shared by 3 technicians = 70 min;
        # ours: 1.5 + 0.5 h approved (the declined 1.0 h does not count) = 120 min; + 30 min → 13:40 → 13:45
        assert (estimate.jobs_ahead, estimate.minutes_ahead, estimate.technicians) == (2, 210, 3)
        assert (estimate.own_minutes, estimate.finishing_minutes) == (120, 30)
        assert estimate.at == shanghai(2026, 11, 23, 13, 45)

    def test_it_moves_with_the_job(self, shop, queue):
        ours = queue["ours"]
        services.repair_order_assign(order=ours, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        with frozen(2026, 11, 23, 10, 0):
            ours = walk(shop, ours, S.WAITING, S.IN_BAY)
            assert order_ready_estimate(order_id=ours.pk).at == shanghai(2026, 11, 23, 12, 30)  # 10:00 + 120 + 30
        with frozen(2026, 11, 23, 10, 20):
            ours = walk(shop, ours, S.IN_PROGRESS)
            assert order_ready_estimate(order_id=ours.pk).at == shanghai(2026, 11, 23, 13, 0)  # 12:50 → 13:00
        with frozen(2026, 11, 23, 12, 40):  # past the standard time: from now
            assert order_ready_estimate(order_id=ours.pk).at == shanghai(2026, 11, 23, 13, 15)  # 13:10 → 13:15
        with frozen(2026, 11, 23, 12, 42):
            ours = walk(shop, ours, S.WAITING_PARTS)
            estimate = order_ready_estimate(order_id=ours.pk)
            assert estimate is not None and estimate.at is None  # nobody can say when parts arrive
        with frozen(2026, 11, 23, 12, 45):
            ours = walk(shop, ours, S.IN_PROGRESS, S.QC)
            assert order_ready_estimate(order_id=ours.pk).at == shanghai(2026, 11, 23, 13, 15)  # 12:45 + 30

    def test_a_car_that_arrived_later_is_not_ahead_and_the_others_moving_on_frees_the_queue(self, shop, queue):
        with frozen(2026, 11, 23, 10, 0):
            later = order_ready_estimate(order_id=queue["d"].pk)
        # ahead of D: A 120 + B 90 + ours 120 = 330 min / 3 = 110; D 180 + 30 → 10:00 + 320 min = 15:20 → 15:30
        assert (later.jobs_ahead, later.at) == (3, shanghai(2026, 11, 23, 15, 30))
        services.repair_order_transition(order=queue["a"], to="cancelled", by=shop.advisor, reason="客户改期")
        with frozen(2026, 11, 23, 10, 0):
            # ahead: B 90 + ours 120 = 210 / 3 = 70 → 10:00 + 70 + 180 + 30 = 14:40 → 14:45
            assert order_ready_estimate(order_id=queue["d"].pk).at == shanghai(2026, 11, 23, 14, 45)


class ProgressPageTests:
    def _order(self, shop):
        order = _walk_in(shop, shop.vehicle, (2026, 11, 23, 9, 0))
        with frozen(2026, 11, 23, 9, 5):
            inspect(shop, order)
            approved_labour(shop, order, "1.0")
        return order

    def _get(self, client, url, **headers):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url, **headers).content.decode()
        return html, queries

    def test_the_page_shows_the_estimated_ready_time_in_a_fixed_number_of_queries(self, client, shop):
        order = self._order(shop)
        url = reverse("service:customer-order", args=[order_link_token(order)])
        with frozen(2026, 11, 23, 10, 0):
            html, alone = self._get(client, url, **EN)
            # nobody ahead: 10:00 + 1.0 h + 30 min = 11:30
            assert 'data-status="reception"' in html and "today 11:30" in html
            assert "0 cars ahead of yours for 3 technicians" in html
            zh, _queries = self._get(client, url, **ZH)
            assert "预计完工" in zh and "今天 11:30" in zh
            _html, warm = self._get(client, url, **EN)
        assert len(warm) == 1, "the same minute and an unchanged order: page and estimate come from the cache"
        with frozen(2026, 11, 23, 10, 1):
            html, next_minute = self._get(client, url, **EN)
        assert "today 11:45" in html  # 10:01 + 90 min = 11:31 → 11:45
        assert len(next_minute) == 3, "the fingerprint, then the estimate's 2 queries: the page itself is cached"
        for index in range(6):  # six more cars in the queue, ahead of ours (priority lane)
            other = _walk_in(shop, _vehicle(shop, f"沪C2000{index}", f"1390000010{index}"), (2026, 11, 23, 9, 10))
            RepairOrder.objects.filter(pk=other.pk).update(priority=True)
        cache.clear()
        with frozen(2026, 11, 23, 10, 0):
            html, crowded = self._get(client, url, **EN)
        # 6 repairs × 240 min (usual duration, no lines) / 3 technicians = 480; 10:00 + 480 + 60 + 30 → 19:30
        assert "6 cars ahead of yours" in html and "today 19:30" in html
        # fingerprint, order, events, estimates, lines, attachments, pick-up; the estimate: order with queue, settings
        assert len(crowded) == len(alone) <= 9, "\n".join(q["sql"] for q in crowded.captured_queries)

    def test_the_estimate_follows_the_job_at_once(self, client, shop):
        order = self._order(shop)
        url = reverse("service:customer-order", args=[order_link_token(order)])
        services.repair_order_assign(order=order, by=shop.foreman, technician=shop.senior, bay=shop.bay_1)
        with frozen(2026, 11, 23, 10, 0):
            assert "today 11:30" in client.get(url, **EN).content.decode()
            order = walk(shop, order, S.WAITING, S.IN_BAY, S.IN_PROGRESS, S.WAITING_PARTS)
            html = client.get(url, **EN).content.decode()  # the same minute, but the order moved
        assert "Waiting for parts: we give you a time as soon as they arrive." in html

    def test_the_advisors_explanation_at_delivery_is_shown_and_no_estimate(self, client, shop):
        order = order_in_progress(shop)
        walk(shop, order, S.QC)
        services.quality_check_record(
            order=order, by=shop.foreman, passed=True, checklist={k: True for k, _l in QC_CHECKLIST}, skip_washing=True
        )
        order.refresh_from_db()
        services.repair_order_deliver(
            order=order,
            by=shop.advisor,
            explanation="更换了前刹车片；旧件已放在后备箱。\n下次保养请检查轮胎。",
            next_service_date=dt.date(2027, 5, 1),
            next_service_km=22500,
        )
        html = client.get(reverse("service:customer-order", args=[order_link_token(order)]), **ZH).content.decode()
        assert 'id="delivery-explanation"' in html
        assert "更换了前刹车片；旧件已放在后备箱。<br>下次保养请检查轮胎。" in html
        assert 'id="ready-estimate"' not in html


# ---------------------------------------------------------------------------------------------------------
# Booking confirmation
# ---------------------------------------------------------------------------------------------------------

TOMORROW_10 = shanghai(2026, 11, 24, 10, 30)  # the shop opens at 08:30 with hourly slots


class ConfirmationPageTests:
    @pytest.fixture(autouse=True)
    def _clock(self):
        with time_machine.travel(shanghai(2026, 11, 23, 9, 0), tick=False):
            yield

    def _book(self, shop, **extra):
        return services.appointment_book(
            store=shop.store,
            start=TOMORROW_10,
            service_type="warranty",
            channel="phone",
            customer=shop.customer,
            vehicle=shop.vehicle,
            by=shop.advisor,
            **extra,
        )

    def test_duration_directions_documents_and_advisor(self, client, shop):
        shop.store.address, shop.store.directions = "上海市浦东新区张江路88号", "地铁2号线张江站3号口，步行5分钟"
        shop.store.phone = "021-55550000"
        shop.store.save()
        appointment = self._book(shop, advisor=shop.cast.bob)
        url = reverse("service:customer-appointment", args=[appointment_link_token(appointment)])
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url, **EN).content.decode()
        # appointment, link days, slots (settings, ensure, list), its order, the pick-up status, the usual duration
        assert len(queries) <= 8, "\n".join(q["sql"][:200] for q in queries.captured_queries)
        assert "About 3 h" in html  # the warranty's usual 180 minutes
        assert "地铁2号线张江站3号口，步行5分钟" in html and "上海市浦东新区张江路88号" in html
        assert 'href="tel:021-55550000"' in html
        for document in ("Vehicle licence", "Warranty booklet", "Purchase invoice"):
            assert f"<li>{document}</li>" in html
        assert shop.cast.bob.staff_profile.display_name in html
        assert 'id="pickup"' not in html
        zh = client.get(url, **ZH).content.decode()
        assert "约 3 小时" in zh and "<li>行驶证</li>" in zh and "<li>保修手册</li>" in zh

    def test_pick_up_window_and_driver(self, client, shop):
        appointment = self._book(
            shop,
            pickup_address="上海市浦东新区世纪大道100号",
            pickup_from=shanghai(2026, 11, 24, 8, 30),
            pickup_to=shanghai(2026, 11, 24, 9, 15),
        )
        url = reverse("service:customer-appointment", args=[appointment_link_token(appointment)])
        html = client.get(url, **EN).content.decode()
        # the pick-up's own card (the driver's work): window, driver, status
        assert 'id="pickup-status"' in html and "11-24 08:30–09:15" in html
        assert "A driver will be assigned" in html
        driver = make_user("dave", Role.DRIVER, store=shop.store)
        services.appointment_assign_driver(appointment=appointment, driver=driver, by=shop.advisor)
        html = client.get(url, **EN).content.decode()
        assert f"Your driver: {driver.staff_profile.display_name}" in html
        assert 'id="confirmation"' in html and 'id="documents"' in html  # the confirmation stays beside it
        assert "世纪大道" not in html  # the address stays off a page that anyone with the link can open


# ---------------------------------------------------------------------------------------------------------
# Choosing an advisor online
# ---------------------------------------------------------------------------------------------------------


class AdvisorChoiceTests:
    @pytest.fixture(autouse=True)
    def _clock(self):
        with time_machine.travel(shanghai(2026, 11, 23, 9, 0), tick=False):
            yield

    def _form(self, **extra):
        return {
            "service_type": "maintenance",
            "day": "2026-11-24",
            "start": TOMORROW_10.isoformat(),
            "name": "李秀英",
            "phone": "139 0000 2222",
            "plate": "沪AD54321",
            "vin": unique_vin(),
            "model_name": "大众 ID.4",
            **extra,
        }

    def test_the_page_lists_the_advisors_with_their_free_places(self, client, shop):
        url = reverse("service:customer-book", args=["SH01"])
        html = client.get(url, {"day": "2026-11-24"}, **EN).content.decode()
        assert 'id="advisor-any" value="" checked' in html
        # tomorrow's slots 08:30 … 18:30 (hourly, 11, all open); each takes 3 cars (3 bays) and 2 per advisor: 22
        assert f'id="advisor-{shop.cast.alice.pk}" value="{shop.cast.alice.pk}" data-free="22"' in html
        assert f"advisor-{shop.cast.carol.pk}" not in html  # another store's advisor
        assert f"advisor-{shop.senior.pk}" not in html  # a technician
        services.appointment_book(
            store=shop.store,
            start=TOMORROW_10,
            service_type="repair",
            channel="phone",
            customer=shop.customer,
            vehicle=shop.vehicle,
            by=shop.advisor,
            advisor=shop.cast.alice,
        )
        partial = client.get(
            reverse("service:customer-book-advisors", args=["SH01"]),
            {"day": "2026-11-24", "start": TOMORROW_10.isoformat(), "advisor": str(shop.cast.alice.pk)},
            **EN,
        ).content.decode()
        assert 'data-free="1" checked' in partial and "1 place free at this time" in partial
        assert f'id="advisor-{shop.cast.bob.pk}" value="{shop.cast.bob.pk}" data-free="2"' in partial

    def test_the_booking_page_reads_advisors_in_a_fixed_number_of_queries(self, client, shop):
        url = reverse("service:customer-book", args=["SH01"])
        client.get(url, {"day": "2026-11-24"}, **EN)  # the day's slots are made the first time
        with CaptureQueriesContext(connection) as two:
            client.get(url, {"day": "2026-11-24"}, **EN)
        for index in range(5):
            make_user(f"advisor{index}", Role.ADVISOR, store=shop.store)
        with CaptureQueriesContext(connection) as seven:
            html = client.get(url, {"day": "2026-11-24"}, **EN).content.decode()
        assert html.count('name="advisor"') == 8  # no preference + 7 advisors
        # store, settings and slots (ensure, list), the advisors, the settings, their loads
        assert len(seven) == len(two) <= 8, "\n".join(q["sql"][:200] for q in seven.captured_queries)

    def test_the_customer_books_with_the_advisor_chosen(self, client, shop):
        url = reverse("service:customer-book", args=["SH01"]) + "?lang=zh-hans"
        response = client.post(url, self._form(advisor=str(shop.cast.bob.pk)), **EN)
        assert response.status_code == 302, [
            line for line in response.content.decode().splitlines() if "invalid-feedback" in line or "alert" in line
        ]
        assert response["Location"].endswith("?lang=zh-hans")
        appointment = Appointment.objects.get(customer__name="李秀英")
        assert (appointment.advisor, appointment.channel) == (shop.cast.bob, "online")
        assert AdvisorSlotLoad.objects.get(slot=appointment.slot, advisor=shop.cast.bob).booked == 1
        html = client.get(response["Location"], **EN).content.decode()
        assert 'lang="zh-hans"' in html and "您的服务顾问" in html

    @pytest.mark.parametrize("who", ["carol", "senior", "nobody", "text"])
    def test_a_bad_choice_names_the_field_and_writes_nothing(self, client, shop, who):
        chosen = {
            "carol": str(shop.cast.carol.pk),  # an advisor of another store
            "senior": str(shop.senior.pk),  # a technician of this store
            "nobody": "999999",
            "text": "bob",
        }[who]
        customers = Customer.objects.count()
        response = client.post(reverse("service:customer-book", args=["SH01"]), self._form(advisor=chosen), **EN)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-error-for="advisor"' in html
        assert (Customer.objects.count(), Appointment.objects.count()) == (customers, 0)

    def test_the_service_refuses_someone_who_is_not_an_advisor_of_the_store(self, shop):
        customers = Customer.objects.count()
        for person in (shop.cast.carol, shop.senior):
            with pytest.raises(ValidationError) as caught:
                services.appointment_book_for_visitor(
                    store=shop.store,
                    start=TOMORROW_10,
                    service_type="repair",
                    channel="online",
                    name="新客户",
                    phone="13900003333",
                    plate="沪AK1234",
                    vin=unique_vin(),
                    model_name="ID.4",
                    advisor=person,
                )
            assert caught.value.message_dict == {"advisor": [NOT_AN_ADVISOR]}
        assert (Customer.objects.count(), Appointment.objects.count()) == (customers, 0)

    def test_the_rulebook_lets_the_customer_book(self, shop):
        from aftersales.service.transitions import APPOINTMENT

        move = APPOINTMENT.get("book")
        assert Party.CUSTOMER in move.parties


# ---------------------------------------------------------------------------------------------------------
# Language and error pages
# ---------------------------------------------------------------------------------------------------------


class LanguageTests:
    def test_a_tampered_link_answers_in_the_pages_language_not_the_browsers(self, client, shop):
        order = _walk_in(shop, shop.vehicle, (2026, 11, 23, 9, 0))
        token = order_link_token(order)
        tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
        response = client.get(reverse("service:customer-order", args=[tampered]) + "?lang=zh-hans", **EN)
        html = response.content.decode()
        assert response.status_code == 403
        assert 'lang="zh-hans"' in html and "该链接无效" in html
        assert 'class="as-customer"' in html
        # the language is remembered for the next page without ?lang= (a form that posted elsewhere)
        assert response.cookies["django_language"].value == "zh-hans"
        again = client.get(reverse("service:customer-appointment", args=["nonsense"]), **EN).content.decode()
        assert 'lang="zh-hans"' in again

    def test_without_lang_the_browser_still_decides(self, client, shop):
        html = client.get(reverse("service:customer-appointment", args=["nonsense"]), **EN).content.decode()
        assert 'lang="en"' in html and "This link is not valid" in html

    def test_the_switch_is_a_link_that_keeps_the_page(self, client, shop):
        with time_machine.travel(shanghai(2026, 11, 23, 9, 0), tick=False):
            html = client.get(reverse("service:customer-book", args=["SH01"]), {"day": "2026-11-24"}, **ZH)
        assert 'href="/book/SH01/?day=2026-11-24&amp;lang=en"' in html.content.decode()

    def test_messages_carry_the_language_of_the_message(self, shop):
        from aftersales.messaging.models import OutboxMessage

        with time_machine.travel(shanghai(2026, 11, 23, 9, 0), tick=False):
            appointment = services.appointment_book(
                store=shop.store,
                start=TOMORROW_10,
                service_type="repair",
                channel="phone",
                customer=shop.customer,
                vehicle=shop.vehicle,
                by=shop.advisor,
            )
        message = OutboxMessage.objects.filter(template="booking_confirmed").latest("id")
        path = reverse("service:customer-appointment", args=["T"]).replace("T/", "")
        assert f"{path}" in message.body and "/?lang=zh-hans。" in message.body
        assert appointment.pk


class ErrorPageTests:
    def test_a_customer_404_looks_like_the_customer_pages_in_the_links_language(self, client, cast):
        response = client.get("/book/NOPE/?lang=zh-hans", **EN)
        html = response.content.decode()
        assert response.status_code == 404
        assert 'class="as-customer"' in html and 'lang="zh-hans"' in html and "找不到此页面" in html
        assert 'id="mainnav"' not in html

    @pytest.mark.parametrize(
        ("headers", "lang", "text"), [(ZH, "zh-hans", "找不到此页面"), (EN, "en", "Page not found")]
    )
    def test_a_staff_404_is_inside_the_shell_with_the_menu(self, client, cast, headers, lang, text):
        client.force_login(cast.alice)
        response = client.get(reverse("service:order-detail", args=[999999]), **headers)
        html = response.content.decode()
        assert response.status_code == 404
        assert f'lang="{lang}"' in html and text in html
        assert 'id="mainnav"' in html and reverse("service:workbench") in html

    @pytest.mark.parametrize(("headers", "lang", "text"), [(ZH, "zh-hans", "不允许"), (EN, "en", "Not allowed")])
    def test_a_staff_403_is_inside_the_shell_with_the_reason(self, client, cast, headers, lang, text):
        client.force_login(cast.tom)  # a technician
        response = client.get(reverse("organisation:settings"), **headers)
        html = response.content.decode()
        assert response.status_code == 403
        assert f'lang="{lang}"' in html and text in html and 'id="error-reason"' in html
        assert 'id="mainnav"' in html

    def test_an_unknown_address_for_a_visitor_is_a_plain_404(self, client, cast):
        response = client.get("/no-such-page/", **EN)
        assert response.status_code == 404 and "Page not found" in response.content.decode()
