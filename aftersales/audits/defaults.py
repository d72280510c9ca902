"""The built-in audit checklists a dealer group starts from (`services.checklists_install_defaults`): one per kind,
in Chinese with the English wording, each item weighted and tied to the step (and SOP item) it checks.

The mystery-shopper checklist is not written here: it is built from the customer-facing items of the group's
current procedures (booking, reception, estimate, delivery, follow-up), so a new SOP version changes what the next
installed checklist scores.  Weights: 3 for what the customer must never miss (approval before work, the
explanation at delivery), 2 for the reception and delivery moments, 1 for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aftersales.audits.choices import AuditKind
from aftersales.standards.choices import ProcedureStep as S


@dataclass(frozen=True)
class DefaultItem:
    text: str
    text_en: str
    weight: Decimal
    allows_na: bool
    step: str = ""
    sop_item_key: str = ""


@dataclass(frozen=True)
class DefaultChecklist:
    kind: str
    title: str
    description: str


I = DefaultItem  # noqa: E741 - short name for the tables below
ONE, TWO, THREE = Decimal(1), Decimal(2), Decimal(3)

CHECKLISTS: dict[str, DefaultChecklist] = {
    AuditKind.MYSTERY_SHOPPER: DefaultChecklist(
        AuditKind.MYSTERY_SHOPPER,
        "神秘顾客暗访评分表",
        "神秘顾客以普通客户身份电话预约或到店，按标准作业程序中客户可感知的项目逐项评分；"
        "电话暗访时到店环节记为不适用。Mystery shopper: a call or a visit scored against the customer-facing "
        "items of the current SOPs; on a phone call the items of the visit are not applicable.",
    ),
    AuditKind.INTERNAL: DefaultChecklist(
        AuditKind.INTERNAL,
        "门店内部审核表",
        "服务质量部按季度到店检查标准作业程序的执行、现场管理和整改闭环。"
        "Internal audit: the quality department checks once a quarter how the store follows its SOPs.",
    ),
    AuditKind.RECORD_CHECK: DefaultChecklist(
        AuditKind.RECORD_CHECK,
        "服务记录抽查表",
        "从上月已交车工单中随机抽取，检查系统记录是否完整。"
        "Record spot check: a random sample of last month's delivered orders, checked for complete records.",
    ),
    AuditKind.VIDEO_CHECK: DefaultChecklist(
        AuditKind.VIDEO_CHECK,
        "视频抽查表",
        "对抽中的工单调取门店监控，核对关键服务环节；只记录录像位置和时间码，不在系统中保存视频。"
        "Video spot check: the store's cameras reviewed at a sampled order's key moments; the recording's "
        "place and time codes are noted, no video is stored here.",
    ),
}

# The steps whose customer-facing SOP items a mystery shopper scores, with the weight of their items.
MYSTERY_STEPS: dict[str, Decimal] = {
    S.BOOKING: ONE,
    S.RECEPTION: TWO,
    S.ESTIMATE: TWO,
    S.DELIVERY: TWO,
    S.FOLLOW_UP: ONE,
}
# SOP items that weigh most wherever they are scored.
CRITICAL_KEYS = frozenset({"walk_around", "approval_before_work", "show_price", "explain_work"})
# The steps a phone call never reaches (their items may be not applicable).
VISIT_ONLY_STEPS = frozenset({S.RECEPTION, S.ESTIMATE, S.DELIVERY})

ITEMS: dict[str, tuple[DefaultItem, ...]] = {
    AuditKind.INTERNAL: (
        I("门店可查阅各环节现行标准作业程序版本", "The current SOP version of every step is at hand", TWO, False),
        I("员工已确认最新发布的标准作业程序", "Staff have acknowledged the latest published SOPs", TWO, False),
        I("接待区整洁，维修价格和工时费公示", "Reception tidy, prices and labour rates displayed", ONE, False),
        I(
            "工单记录环车检查和客户确认的需求",
            "Orders record the walk-around and the need the customer confirmed",
            TWO,
            False,
            S.RECEPTION,
            "confirm_need",
        ),
        I(
            "增项施工前取得客户同意",
            "Added work approved by the customer before it starts",
            THREE,
            False,
            S.ESTIMATE,
            "approval_before_work",
        ),
        I(
            "高压电作业由持证人员操作并使用防护装备",
            "High-voltage work by certified staff with protective equipment",
            THREE,
            True,
            S.REPAIR,
            "hv_safety",
        ),
        I(
            "质检按检查表逐项完成并签字",
            "Quality checks done item by item and signed",
            TWO,
            False,
            S.QC,
            "work_done",
        ),
        I("旧件标识清楚，按规定存放和处理", "Old parts labelled, kept and disposed of as required", ONE, False),
        I(
            "废油、废电池等危险废物合规存放",
            "Waste oil, batteries and other hazardous waste stored lawfully",
            TWO,
            False,
        ),
        I(
            "投诉在 2 小时内确认并有处理记录",
            "Complaints acknowledged within 2 hours, with a record of handling",
            TWO,
            True,
            S.COMPLAINT,
            "acknowledge_2h",
        ),
        I(
            "交车后按时回访并记录客户意见",
            "Follow-up calls on time with the customer's words recorded",
            ONE,
            False,
            S.FOLLOW_UP,
            "remarks",
        ),
        I("上期审核问题和纠正预防措施按期完成", "Last audit's findings and CAPAs done on time", TWO, True),
    ),
    AuditKind.RECORD_CHECK: (
        I(
            "环车检查照片完整（四周外观、仪表里程、油量/电量、原有损伤）",
            "Complete inspection photos (all sides, odometer, fuel or charge, existing damage)",
            THREE,
            False,
            S.RECEPTION,
            "damage_photos",
        ),
        I(
            "进厂里程和油量/电量已记录",
            "Mileage and fuel (charge) level recorded on arrival",
            ONE,
            False,
            S.RECEPTION,
            "mileage_fuel",
        ),
        I(
            "每个增项在施工前有客户确认记录（时间早于开工）",
            "Every added line approved by the customer before work started (approval time before the work)",
            THREE,
            True,
            S.ESTIMATE,
            "approval_before_work",
        ),
        I(
            "客户拒绝的项目已登记为待修项目",
            "Lines the customer declined recorded as deferred work",
            ONE,
            True,
            S.ESTIMATE,
            "defer_declined",
        ),
        I(
            "所装零件均有批次记录",
            "Batch records for every fitted part",
            THREE,
            True,
            S.REPAIR,
            "record_batches",
        ),
        I(
            "质检记录完整并由质检员确认",
            "Quality check recorded in full by the inspector",
            TWO,
            False,
            S.QC,
            "work_done",
        ),
        I(
            "交车时向客户说明了维修项目和费用（有说明记录）",
            "Explanation at delivery recorded (the work and its cost)",
            THREE,
            False,
            S.DELIVERY,
            "explain_work",
        ),
        I(
            "下次保养时间和里程已告知并记录",
            "Next maintenance date and mileage given and recorded",
            ONE,
            True,
            S.DELIVERY,
            "next_service",
        ),
    ),
    AuditKind.VIDEO_CHECK: (
        I(
            "客户到店 2 分钟内有人迎接问候",
            "Reception greeting within two minutes of arrival",
            TWO,
            False,
            S.RECEPTION,
            "greet",
        ),
        I(
            "当着客户面安装座椅套、方向盘套、脚垫",
            "Seat, wheel and floor covers fitted in front of the customer",
            ONE,
            False,
            S.RECEPTION,
            "covers",
        ),
        I(
            "服务顾问与客户一起环车检查",
            "Walk-around with the customer",
            THREE,
            False,
            S.RECEPTION,
            "walk_around",
        ),
        I(
            "增项时当面或电话向客户说明并取得同意",
            "Added work explained to the customer and approved before it started",
            TWO,
            True,
            S.ESTIMATE,
            "approval_before_work",
        ),
        I(
            "交车时逐项说明所做项目和费用",
            "Explanation at delivery, line by line with the cost",
            THREE,
            False,
            S.DELIVERY,
            "explain_work",
        ),
        I("向客户展示旧件", "Old parts shown to the customer", ONE, True, S.DELIVERY, "show_old_parts"),
        I(
            "陪同客户到车旁交钥匙",
            "Customer walked to the car and handed the key",
            ONE,
            False,
            S.DELIVERY,
            "walk_to_car",
        ),
    ),
}
