"""The template registry: both languages everywhere, the same values in both, clear errors."""

import pytest

from aftersales.core.exceptions import ApplicationError
from aftersales.messaging.choices import Language
from aftersales.messaging.models import OutboxMessage
from aftersales.messaging.services import message_enqueue
from aftersales.messaging.templates import TEMPLATES, placeholders, render, template_placeholders

from .conftest import BOOKING_CONFIRMED, MAINTENANCE

REQUIRED = {
    "booking_confirmed",
    "booking_rescheduled",
    "booking_cancelled",
    "estimate_ready",
    "vehicle_ready",
    "staff_alert",
}


class TemplateRegistryTests:
    def test_it_has_the_templates_the_service_process_needs(self):
        assert REQUIRED <= set(TEMPLATES)

    @pytest.mark.parametrize("key", sorted(TEMPLATES))
    def test_every_template_has_both_languages_with_the_same_named_values(self, key):
        assert set(TEMPLATES[key]) == set(Language.values)
        names = [placeholders(subject + body) for subject, body in TEMPLATES[key].values()]
        assert names[0] == names[1]
        assert "" not in names[0], "use named placeholders only"

    def test_booking_confirmed_tells_the_wait_the_way_and_what_to_bring(self):
        assert {"wait_minutes", "address", "link", "documents"} <= template_placeholders("booking_confirmed")
        assert "link" in template_placeholders("estimate_ready")
        assert "link" in template_placeholders("vehicle_ready")
        assert template_placeholders("staff_alert") == {"text"}


class RenderTests:
    def test_it_renders_chinese(self):
        rendered = render(template="booking_confirmed", language="zh-hans", context=BOOKING_CONFIRMED)
        assert rendered.subject == "预约成功｜上海店"
        assert rendered.body == (
            "张三您好！您已成功预约上海店的常规保养服务，到店时间2026-03-05 09:30，到店后预计等候约20分钟。"
            "门店地址：上海市浦东新区测试路1号（地铁2号线世纪公园站3号口）"
            "，预约详情：https://svc.example/a/abc。"
            "请携带：行驶证、保养手册。如需改期或取消，请致电021-12345678。"
        )

    def test_it_renders_english(self):
        rendered = render(template="booking_confirmed", language="en", context=BOOKING_CONFIRMED)
        assert rendered.subject == "Booking confirmed – 上海店"
        assert "Expect to wait about 20 minutes after you arrive." in rendered.body
        assert (
            "Address: 上海市浦东新区测试路1号 (地铁2号线世纪公园站3号口); booking details: https://svc.example/a/abc."
            in rendered.body
        )
        assert "Please bring: 行驶证、保养手册." in rendered.body

    def test_extra_values_are_ignored(self):
        rendered = render(template="staff_alert", language="en", context={"text": "Bay 3 is free", "unused": 1})
        assert rendered.body == "Bay 3 is free"

    def test_marketing_messages_end_with_the_way_to_opt_out(self):
        assert render(
            template="maintenance_reminder", language="zh-hans", context=MAINTENANCE, marketing=True
        ).body.endswith("回复TD退订")
        assert render(
            template="maintenance_reminder", language="en", context=MAINTENANCE, marketing=True
        ).body.endswith("Reply STOP to opt out.")

    def test_a_missing_value_is_an_error_naming_every_missing_one(self):
        context = {k: v for k, v in BOOKING_CONFIRMED.items() if k not in ("wait_minutes", "documents")}
        with pytest.raises(ApplicationError) as exc_info:
            render(template="booking_confirmed", language="zh-hans", context=context)
        assert exc_info.value.message == (
            "Message template 'booking_confirmed' (zh-hans) needs values for: documents, wait_minutes."
        )
        assert exc_info.value.extra == {"missing": ["documents", "wait_minutes"]}

    def test_an_unknown_template_or_language_is_an_error(self):
        with pytest.raises(ApplicationError, match="There is no message template 'nope'"):
            render(template="nope", language="en", context={})
        with pytest.raises(ApplicationError, match="has no 'fr' text"):
            render(template="staff_alert", language="fr", context={"text": "x"})


@pytest.mark.django_db
class EnqueueRenderingTests:
    def test_a_missing_value_fails_at_enqueue_time_and_queues_nothing(self, cast, customer):
        with pytest.raises(ApplicationError, match="needs values for: phone"):
            message_enqueue(
                store=cast.store_a,
                template="booking_cancelled",
                context={"name": "张三", "store": "上海店", "service": "保养", "time": "明天"},
                customer=customer,
                purpose="service",
            )
        assert not OutboxMessage.objects.exists()

    def test_the_stored_text_is_the_rendered_text_in_the_chosen_language(self, cast, customer):
        message = message_enqueue(
            store=cast.store_a,
            template="booking_confirmed",
            context=BOOKING_CONFIRMED,
            customer=customer,
            purpose="service",
            language="en",
        )
        message.refresh_from_db()
        assert message.language == "en"
        assert message.subject == "Booking confirmed – 上海店"
        assert message.body.startswith("Dear 张三, your 常规保养 visit to 上海店 is booked for 2026-03-05 09:30.")
