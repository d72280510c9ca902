"""Demo rights requests for the first store (called by `aftersales seed`): one overdue and escalated, one in
progress with its identity checked, one answered, and one vehicle-data erasure refused with the legal reason."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from aftersales.core import clock
from aftersales.customers.models import Customer
from aftersales.organisation.models import Store
from aftersales.privacy import services
from aftersales.privacy.choices import IdentityMethod
from aftersales.privacy.models import RightsRequest

ERASE_REFUSAL = (
    "《机动车维修管理规定》要求维修档案保存至少两年，车辆的维修记录在保存期内不能删除；"
    "期满后将自动删除。The repair records must be kept for two years (Motor Vehicle Maintenance Provisions)."
)


def seed_privacy_requests(*, rng: random.Random, stores: list[Store], users: dict[str, Any]) -> dict[str, int]:
    store = stores[0]
    advisor, manager = users["advisor"], users["manager"]
    officer = users.get("privacy") or manager
    customers = list(Customer.objects.filter(store=store).order_by("pk")[:8])
    if len(customers) < 4:
        return {"rights_requests": 0}
    rng.shuffle(customers)
    now = clock.now()

    def log(customer: Customer, days_ago: float, **fields: Any) -> RightsRequest:
        values = {"kind": "access", "scope": "all", "channel": "desk", "details": ""} | fields
        return services.rights_request_log(
            store=store, customer=customer, by=advisor, received_at=now - dt.timedelta(days=days_ago), **values
        )

    # Overdue: received 33 days ago, identity never checked; the sweep below escalates it to the privacy officer.
    log(customers[0], 33, kind="copy", details="客户来电要求提供其个人信息副本。")
    # In progress: identity checked at the desk, owned by the privacy officer, 80 % of its clock run.
    busy = log(customers[1], 25, kind="correct", details="登记的住址有误，应为浦东新区张杨路100号。")
    services.rights_request_verify_identity(
        request=busy, method=IdentityMethod.ID_DOCUMENT, note="身份证尾号核对一致", by=manager
    )
    services.rights_request_assign(request=busy, owner=officer, by=manager)
    # Answered: the customer objected to automated recommendations.
    done = log(customers[2], 12, kind="object", details="不希望收到根据用车数据自动生成的推荐。")
    services.rights_request_verify_identity(request=done, method=IdentityMethod.CALL_BACK, note="", by=manager)
    services.rights_request_answer(request=done, answer="已关闭该客户的自动推荐，并电话告知。", by=manager)
    # Vehicle-data erasure refused: the repair records are within their legal retention period.
    erase = log(customers[3], 4, kind="erase", scope="vehicle", details="要求删除车辆的全部维修和行驶数据。")
    services.rights_request_verify_identity(request=erase, method=IdentityMethod.ID_DOCUMENT, note="", by=officer)
    services.rights_request_refuse(request=erase, reason=ERASE_REFUSAL, by=officer)
    services.rights_request_escalation_sweep(now=now)
    return {"rights_requests": 4}


def flush_privacy_requests() -> None:
    """Before the customers and stores its requests protect."""
    RightsRequest.objects.all().delete()
