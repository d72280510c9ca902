"""Fixtures of the e-health tests: a settled order of store A with approved part and labour lines, and a
provincial platform played by a real HTTP server on 127.0.0.1 (http.server in a thread) that issues tokens,
accepts or rejects records one by one or in batches, and forgets its tokens when told (an expired token)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.customers import crypto
from aftersales.ehr.choices import AdapterKind
from aftersales.ehr.models import EhrEndpoint
from aftersales.organisation.models import Store
from aftersales.service.choices import EstimateStatus, LineDecision, LineKind, RepairOrderStatus, ServiceType
from aftersales.service.models import Estimate, EstimateLine, RepairOrder

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
SECRET = "s3cret-key"
_numbers = itertools.count(1)


@dataclass
class Platform:
    """What the fake province knows and how it behaves; read by the handler, inspected by the tests."""

    expires_in: int = 3600
    valid_tokens: set[str] = field(default_factory=set)
    token_calls: int = 0
    calls: list[tuple[str, str, Any]] = field(default_factory=list)  # (path, token, body)
    reject_vins: dict[str, str] = field(default_factory=dict)  # vin → reason
    status: int = 0  # answer every record call with this HTTP status (0: behave)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    @property
    def record_calls(self) -> list[tuple[str, str, Any]]:
        return [c for c in self.calls if c[0] != "/token"]


class Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        platform: Platform = self.server.platform
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.server.lock:
            platform.calls.append((self.path, token, body))
            if self.path == "/token":
                platform.token_calls += 1
                if body.get("client_secret") != SECRET or body.get("client_id") != "acct-1":
                    return self._answer(401, {"code": 401, "message": "bad account"})
                issued = f"tok-{platform.token_calls}"
                platform.valid_tokens.add(issued)
                return self._answer(200, {"access_token": issued, "expires_in": platform.expires_in})
            if token not in platform.valid_tokens:
                return self._answer(401, {"code": 401, "message": "token expired"})
            if platform.status:
                return self._answer(platform.status, {"message": "maintenance"})
            if self.path == "/record":
                reason = platform.reject_vins.get(body.get("vin"))
                if reason:
                    return self._answer(200, {"code": 1001, "message": reason})
                return self._answer(200, {"code": 0, "data": {"id": f"R{next(platform.ids)}"}})
            if self.path == "/batch":
                results = []
                for index, record in enumerate(body.get("records", [])):
                    reason = platform.reject_vins.get(record.get("vin"))
                    if reason:
                        results.append({"index": index, "accepted": False, "reason": reason})
                    else:
                        results.append({"index": index, "accepted": True, "id": f"B{next(platform.ids)}"})
                return self._answer(200, {"code": 0, "results": results})
            return self._answer(404, {"message": "no such path"})


class PlatformServer:
    """The server in a thread; `stop()` takes it down (connection refused), `start()` brings it back on the same
    port."""

    def __init__(self) -> None:
        self.platform = Platform()
        self.port = 0
        self.httpd: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.platform = self.platform  # type: ignore[attr-defined]
        self.httpd.lock = threading.Lock()  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def platform_server():
    server = PlatformServer()
    yield server
    server.stop()


@pytest.fixture
def platform(platform_server) -> Platform:
    return platform_server.platform


def endpoint_for(
    server: PlatformServer, store: Store, *, kind: str = AdapterKind.TOKEN_RECORD, group_wide: bool = False
) -> EhrEndpoint:
    return EhrEndpoint.objects.create(
        group=store.group,
        store=None if group_wide else store,
        kind=kind,
        token_url=server.url("/token"),
        record_url=server.url("/batch" if kind == AdapterKind.BATCH else "/record"),
        company_code="310115001",
        client_id="acct-1",
        secret_encrypted=crypto.encrypt(SECRET),
    )


def settled_order(
    store: Store,
    *,
    delivered: dt.datetime | None = None,
    status: str = RepairOrderStatus.DELIVERED,
    vin: str | None = None,
    by: Any = None,
) -> RepairOrder:
    """A repair order of `store`, arrived 09:00 and delivered 17:00 (Shanghai) on the day of `delivered` (yesterday by
    default), with approved lines: an oil filter ×1, engine oil ×4.5, a labour line of 0.8 h, a declined brake
    pad line and an approved fee."""
    delivered = delivered or timezone.now() - dt.timedelta(days=1)  # yesterday: 17:00 today may be still to come
    local = timezone.localtime(delivered, SHANGHAI)
    arrived = local.replace(hour=9, minute=0, second=0, microsecond=0)
    delivered_at = local.replace(hour=17, minute=0, second=0, microsecond=0)
    customer = make_customer(store, by=by, name="王五")
    fields = {"vin": vin} if vin else {}
    vehicle = make_vehicle(customer, by=by, plate=f"沪A{next(_numbers):05d}", mileage_km=12000, **fields)
    order = RepairOrder.objects.create(
        store=store,
        number=f"RO-E{next(_numbers):05d}",
        customer=customer,
        vehicle=vehicle,
        service_type=ServiceType.REPAIR,
        status=status,
        arrived_at=arrived,
        delivered_at=delivered_at if status == RepairOrderStatus.DELIVERED else None,
        mileage_in=23456,
        customer_words="发动机故障灯亮，怠速抖动",
        link_nonce="t",
    )
    estimate = Estimate.objects.create(order=order, number=1, status=EstimateStatus.DECIDED, sent_at=arrived)

    def line(kind: str, description: str, amount: str, decision: str = LineDecision.APPROVED, **extra: Any) -> None:
        EstimateLine.objects.create(
            estimate=estimate, kind=kind, description=description, amount=Decimal(amount), decision=decision, **extra
        )

    line(LineKind.PART, "机油滤清器", "68", part_number="15400-RTA-003", quantity=Decimal("1"))
    line(LineKind.PART, "全合成机油 5W-30", "360", part_number="08232-P99-K1LHE", quantity=Decimal("4.5"))
    line(LineKind.LABOUR, "更换机油机滤", "120", standard_hours=Decimal("0.80"))
    line(LineKind.PART, "前刹车片", "480", decision=LineDecision.DECLINED, part_number="45022-T2A-A01")
    line(LineKind.FEE, "检测费", "50")
    return order
