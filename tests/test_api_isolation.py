import json
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from aftersales.core.testing import make_customer, make_vehicle

pytestmark = pytest.mark.django_db


def test_probe(client, cast, api_token):
    h = api_token(cast.alice)

    def show(m, url, body=None, **kw):
        fn = getattr(client, m)
        if body is None:
            r = fn(url, **h, **kw)
        else:
            r = fn(
                url,
                data=body if isinstance(body, str) else json.dumps(body),
                content_type="application/json",
                **h,
                **kw,
            )
        print(m, url, body, r.status_code, r.content[:300].decode(errors="replace"))
        return r

    c = make_customer(cast.store_a)
    v = make_vehicle(c, plate="沪A12345")
    show("get", "/api/v1/customers")
    show("get", "/api/v1/customers?limit=0")
    show("get", "/api/v1/customers?limit=abc")
    show("get", "/api/v1/customers/99999999999999999999")
    show("get", "/api/v1/customers/abc")
    show("post", "/api/v1/customers", "{bad json")
    show("post", "/api/v1/customers", "[1,2]")
    show("post", "/api/v1/customers", {"store": "SH01", "name": 123, "phone": "13800000000"})
    show("post", "/api/v1/customers", {"store": "SH01", "name": "x", "phone": "13800000000", "is_priority": "maybe"})
    show("post", "/api/v1/customers", {"store": "SH01", "name": "x", "phone": "13800000001", "consents": {"foo": True}})
    show("post", "/api/v1/customers", {})
    show("post", "/api/v1/vehicles", {"customer": c.pk, "vin": "LSVAB12C0T0000001", "brand": "b", "model_name": "m"})
    show(
        "post",
        "/api/v1/vehicles",
        {"customer": 99999999999999999999, "vin": "LSVAB12C0T0000001", "brand": "b", "model_name": "m"},
    )
    show("patch", f"/api/v1/vehicles/{v.pk}", {"mileage_km": None})
    show("patch", f"/api/v1/vehicles/{v.pk}", {"purchase_price": "abc"})
    show("patch", f"/api/v1/vehicles/{v.pk}", {"purchase_price": 1e308})
    show("patch", f"/api/v1/customers/{c.pk}", {"birthday": "2999-01-01"})
    show("patch", f"/api/v1/customers/{c.pk}", {"gender": "x"})
    show("patch", f"/api/v1/customers/{c.pk}", {"address": "a" * 5000})
    show("patch", f"/api/v1/customers/{c.pk}", {"name": "x" * 5000})
    show("patch", f"/api/v1/customers/{c.pk}", {"name": "\x00"})
    show("get", "/api/v1/customers?q=%00")
    show("get", "/api/v1/stores")
    r = client.get("/api/v1/openapi.json")
    print(r.status_code, list(r.json()["paths"]))
    for p, ops in r.json()["paths"].items():
        for m, op in ops.items():
            print(p, m, op.get("security"), [x["name"] for x in op.get("parameters", []) if x["in"] == "path"])
    for n in (1, 25):
        for i in range(n):
            cc = make_customer(cast.store_a)
            make_vehicle(cc)
        with CaptureQueriesContext(connection) as ctx:
            client.get("/api/v1/customers", **h)
        print(n, len(ctx.captured_queries))
        with CaptureQueriesContext(connection) as ctx:
            client.get("/api/v1/vehicles", **h)
        print("veh", n, len(ctx.captured_queries))
