"""The delivery backends: console (no personal data in the log), e-mail, signed webhook to a real HTTP server."""

import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from aftersales.messaging.backends import (
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ConsoleBackend,
    get_backend,
    webhook_secret,
)
from aftersales.messaging.choices import MessageStatus
from aftersales.messaging.services import message_enqueue, outbox_deliver

from .conftest import BOOKING_CANCELLED

pytestmark = pytest.mark.django_db


def _queue(cast, customer, **overrides):
    fields = {
        "store": cast.store_a,
        "template": "booking_cancelled",
        "context": BOOKING_CANCELLED,
        "customer": customer,
        "purpose": "service",
    }
    return message_enqueue(**{**fields, **overrides})


class ConsoleBackendTests:
    def test_it_logs_one_line_with_the_masked_phone_and_no_name_or_text(self, cast, customer, caplog):
        message = _queue(cast, customer)
        with caplog.at_level(logging.INFO, logger="aftersales.messaging"):
            assert outbox_deliver(message_id=message.pk)
        lines = [r.getMessage() for r in caplog.records if r.name == "aftersales.messaging"]
        assert len(lines) == 1
        assert f"outbox #{message.pk}" in lines[0]
        assert "to=138****5678" in lines[0]
        for secret in ("13812345678", "张三", "预约"):
            assert secret not in lines[0]

    def test_it_keeps_only_the_last_messages_in_memory(self):
        assert ConsoleBackend.sent.maxlen == ConsoleBackend.KEEP

    def test_it_is_the_default(self, settings):
        del settings.AFTERSALES_MESSAGE_BACKEND
        assert get_backend().name == "console"

    def test_an_unknown_backend_is_a_configuration_error(self, settings):
        settings.AFTERSALES_MESSAGE_BACKEND = "carrier_pigeon"
        with pytest.raises(ImproperlyConfigured, match="carrier_pigeon"):
            get_backend()


class EmailBackendTests:
    def test_it_mails_a_staff_alert(self, cast, settings):
        settings.AFTERSALES_MESSAGE_BACKEND = "email"
        cast.mia.email = "mia@dealer.example"
        cast.mia.save()
        message = message_enqueue(
            store=cast.store_a,
            template="staff_alert",
            context={"text": "投诉 #12 已超时"},
            recipient_user=cast.mia,
            purpose="staff",
            language="en",
        )
        assert outbox_deliver(message_id=message.pk)
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["mia@dealer.example"]
        assert mail.outbox[0].subject == "Internal alert"
        assert mail.outbox[0].body == "投诉 #12 已超时"
        assert message.delivery_attempts.get().detail == "mailed to m***@dealer.example"

    def test_it_cannot_carry_an_sms_so_the_message_fails_at_once(self, cast, customer, settings):
        settings.AFTERSALES_MESSAGE_BACKEND = "email"
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert not mail.outbox


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        self.server.received.append((dict(self.headers), self.rfile.read(length)))
        self.send_response(self.server.answer)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    """A real HTTP server on a free local port, recording what it receives."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.received = []
    server.answer = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AFTERSALES_MESSAGE_BACKEND = "webhook"
    settings.AFTERSALES_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.AFTERSALES_WEBHOOK_SECRET = "gateway-shared-secret"
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class WebhookBackendTests:
    def test_it_posts_signed_json_with_the_phone_for_the_gateway(self, cast, customer, gateway):
        message = _queue(cast, customer, related=customer)
        assert outbox_deliver(message_id=message.pk) is True
        [(headers, body)] = gateway.received
        expected = hmac.new(
            b"gateway-shared-secret", headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
        assert headers[MESSAGE_ID_HEADER] == str(message.pk)
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        payload = json.loads(body)
        assert payload == {
            "id": message.pk,
            "store": "SH01",
            "channel": "sms",
            "purpose": "service",
            "template": "booking_cancelled",
            "language": "zh-hans",
            "to": "13812345678",
            "subject": message.subject,
            "body": message.body,
            "related": {"type": "customers.customer", "id": str(customer.pk)},
        }
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.delivery_attempts.get().detail == "HTTP 200"

    def test_a_non_2xx_answer_is_a_failed_attempt_that_is_retried(self, cast, customer, gateway):
        gateway.answer = 503
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert (message.status, message.attempts, message.last_error) == (MessageStatus.PENDING, 1, "HTTP 503")
        assert len(gateway.received) == 1

    def test_an_unreachable_gateway_is_a_failed_attempt(self, cast, customer, gateway, settings):
        settings.AFTERSALES_WEBHOOK_URL = "http://127.0.0.1:9/nowhere"
        message = _queue(cast, customer)
        assert outbox_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert message.status == MessageStatus.PENDING
        assert message.last_error

    def test_without_a_configured_secret_the_key_is_derived_from_secret_key(self, settings):
        settings.AFTERSALES_WEBHOOK_SECRET = ""
        derived = webhook_secret()
        assert derived and derived != settings.SECRET_KEY.encode()
        settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
        assert webhook_secret() != derived
