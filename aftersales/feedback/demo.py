"""Demo voice of the customer: follow-ups with their calls, surveys, service recovery, complaints with their
handling, suggestions and CAPAs, on top of the service history that `service.demo` has just inserted.

Like the service demo, everything is built in memory from the seed's random generator and inserted in bulk
(`fast_insert`); the per-row services are never called.  The rows are the ones the services would have
written had the history happened with the feedback features on:

- every delivered order has one follow-up, created by the sweep at delivery and due `follow_up_due_hours`
  later; agents call in their working hours, up to `follow_up_max_attempts` times (a wrong number or the last
  unanswered call closes it as unreachable, a refusal as refused);
- a survey is recorded only with survey consent: on file (the customers demo grants it at registration), or
  given on the follow-up call — then recorded as a phone consent with its event, as the survey service does;
- the delivery score (`delivery` channel, the order's own rating) and the follow-up score are separate
  responses; every response whose overall score is below `low_score_threshold` opens a recovery task due
  `recovery_due_minutes` later, whatever its channel (as `recovery_open_if_low` does);
- complaint due times come from `complaint_due_times`, suggestion due times from `suggestion_decision_due`;
- escalations happen where the minute sweep would have made them: the first sweep after a clock ran out while
  its step was still undone (first breach → store manager, later ones → group);
- nothing happens after "now": a step whose time has not come is left undone, so the last days hold open
  follow-ups, open recovery tasks and open complaints with running clocks.  A few live cases are scripted in the
  first store so that the pages always show them.

Scores follow the visit (SPEC §6 waiting time and first-time fix): a long wait from arrival to work start, and
a repair that needed a comeback within 30 days, lower the overall and recommend scores and the matching
attribute items (waiting time, timeliness, repair quality).  No outbox messages are written: history's alerts
were sent long ago, and the live escalations are recorded as sent.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.color import no_style
from django.db import connection

from aftersales.customers.choices import ConsentChannel, ConsentPurpose
from aftersales.customers.models import Consent, ConsentEvent
from aftersales.customers.services import PRIVACY_NOTICE_VERSION
from aftersales.feedback import services
from aftersales.feedback.choices import (
    CallOutcome,
    CapaStatus,
    ComplaintCategory,
    ComplaintClock,
    ComplaintPriority,
    ComplaintStatus,
    EscalationLevel,
    FeedbackChannel,
    FollowUpStatus,
    ItemKind,
    RecoveryOutcome,
    RecoveryStatus,
    SuggestionDecision,
    SuggestionStatus,
    SurveyChannel,
)
from aftersales.feedback.models import (
    CallAttempt,
    Capa,
    CapaAction,
    CapaEvent,
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    ComplaintTransfer,
    FollowUp,
    RecoveryTask,
    Suggestion,
    SurveyAnswer,
    SurveyItem,
    SurveyResponse,
)
from aftersales.organisation.choices import Role
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import RepairOrderStatus
from aftersales.service.demo import complaint_category, fast_insert, record
from aftersales.service.models import RepairOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
C = ComplaintStatus
COMEBACK_DAYS = 30
# Agents call between these local times (a later call waits for the next morning).
CALL_HOURS = (dt.time(9, 0), dt.time(19, 30))
COMPLAINT_RATE = 0.02  # of delivered orders (SPEC: complaints are rare; ~1–3 %)
SUGGESTION_RATE = 0.006

# --- Texts (the staff and customers write Chinese) ----------------------------------------------------------

COMPLAINTS: dict[str, tuple[str, ...]] = {
    ComplaintCategory.WAITING: (
        "预约的是上午九点，车到了快一个半小时才有人开始干活，前台也没人过来说明情况。",
        "说好两个小时做完保养，结果等了一下午，中途问了三次都说快了。",
        "休息区等了很久，技师迟迟不进工位，耽误了我下午开会。",
        "到店后登记就排了四十分钟队，预约和不预约没什么区别。",
        "交车时间一拖再拖，电话也没人主动通知，只能自己一遍遍打过去问。",
        "车放了一整天才动工，早知道这样就不该一早送过来。",
    ),
    ComplaintCategory.QUALITY: (
        "刹车异响修完不到一周又响了，跑了两趟还是没解决。",
        "保养后发动机故障灯又亮了，怀疑是没装好，要求重新检查。",
        "空调修完只凉了三天，现在又吹热风，希望给个明确说法。",
        "取车后发现前保险杠漆面有色差，在阳光下很明显。",
        "底盘异响说是处理好了，回家路上过减速带照样咯噔响。",
        "做完四轮定位方向盘还是往右偏，高速上开着很不放心。",
    ),
    ComplaintCategory.PRICE: (
        "结账金额比报价单多了三百多，没有人提前跟我确认过。",
        "同样的保养项目比上次贵了不少，工时费怎么算的没人解释清楚。",
        "顾问推荐的项目事后才知道不是必须做的，感觉被多收了钱。",
        "环保处理费和辅料费之前都没提过，结算时才看到。",
        "配件价格比网上查到的原厂指导价高出一截，希望给个解释。",
    ),
    ComplaintCategory.ATTITUDE: (
        "前台接待态度冷淡，问了两遍问题都爱答不理。",
        "打电话问进度，对方语气很不耐烦，直接挂了电话。",
        "顾问交车时什么都没解释，把钥匙一放就走了。",
        "技师当着我的面说我的车开得太糙，让人很不舒服。",
        "提出疑问后被说“你不懂就别问了”，希望店里管一管。",
    ),
    ComplaintCategory.PARTS: (
        "等配件等了一个星期，每次问都说在路上，到现在还没个准信。",
        "说好用原厂件，发票上却写着品牌件，要求给个说法。",
        "换下来的旧件没有按我的要求保留，想看都看不到。",
        "新换的蓄电池不到两个月就亏电，怀疑是库存放太久的旧货。",
        "调货说三天到，结果拖了十天，车一直停在店里用不了。",
    ),
    ComplaintCategory.OTHER: (
        "车内座椅上有油手印，脚垫也没有放回原位。",
        "洗车后车身还有很多水渍，玻璃上也是一道一道的。",
        "停车场车位太少，送车时在外面绕了半个小时。",
        "车里放的行车记录仪不见了，工作人员说不清楚去向。",
        "发票迟迟开不出来，报销要用，催了几次都没结果。",
    ),
}
ONLINE_PREFIX = ("大众点评差评：", "汽车之家口碑评论：", "抖音评论：", "小红书笔记：")
FOLLOW_UP_PREFIX = ("回访电话中客户反映：", "回访时客户表示：")
COMPLAINT_TAILS = ("", "", "希望尽快给个说法。", "请店长亲自处理。", "很失望，希望以后别再这样。", "要求书面答复。")
RESOLUTIONS: dict[str, tuple[str, ...]] = {
    ComplaintCategory.WAITING: (
        "向客户致歉，赠送一次免费洗车；调整早高峰接待排班，增加一名前台。",
        "查明是派工延误，已对车间调度提醒；本次工时费九折。",
        "向客户说明等待原因并致歉，下次预约优先安排工位。",
    ),
    ComplaintCategory.QUALITY: (
        "安排高级技师免费返修并路试确认，问题已排除，客户确认。",
        "重新检测后更换故障部件，工时费和配件费全免，赠送保养一次。",
        "由技术经理陪同客户试车，异响已消除，延长该项目质保六个月。",
    ),
    ComplaintCategory.PRICE: (
        "逐项核对结算单，退还未经确认的项目费用，并向客户致歉。",
        "向客户解释工时标准和配件价格，客户接受；赠送代金券一张。",
        "确认报价沟通不到位，差额已退回，顾问重新培训报价确认流程。",
    ),
    ComplaintCategory.ATTITUDE: (
        "站长当面向客户道歉，相关人员已做服务礼仪再培训。",
        "回电致歉并赠送精品礼包，当事顾问本月考核扣分。",
        "与客户沟通后取得谅解，已在晨会通报并整改。",
    ),
    ComplaintCategory.PARTS: (
        "从中心库紧急调货，次日到店安装，期间提供代步车。",
        "核实为品牌件，已按原厂件差价退款并向客户致歉。",
        "更换新批次配件并登记批次号，延长质保期。",
    ),
    ComplaintCategory.OTHER: (
        "重新清洁车辆内饰并致歉，已提醒车间使用座椅套和脚垫套。",
        "查看监控后找回物品，向客户致歉。",
        "当天补开发票并快递给客户。",
    ),
}
TRANSFER_REASONS = (
    "涉及维修质量，转技术经理跟进",
    "客户要求由站长直接处理",
    "原接待人休假，转交同事跟进",
    "涉及费用退还，需站长审批",
)
REOPEN_REASONS = (
    "客户反映问题再次出现",
    "客户对处理结果不满意，要求重新处理",
    "补偿未按约定兑现，客户再次来电",
)
ACK_NOTES = ("已致电客户说明正在处理", "已短信告知客户受理", "", "")
RECOVERY_NOTES: dict[str, tuple[str, ...]] = {
    RecoveryOutcome.CONTACTED: (
        "已致电客户了解不满原因，客户主要觉得等待时间长，已致歉。",
        "与客户通话，客户情绪已平复，约定下次到店优先接待。",
        "电话联系客户，记录了对报价解释的意见并致歉。",
    ),
    RecoveryOutcome.RESOLVED: (
        "客户反映仍有轻微异响，已预约明天免费复检。",
        "向客户致歉并赠送免费洗车券，客户表示满意。",
        "退还一项未确认的费用，客户接受处理结果。",
    ),
    RecoveryOutcome.REFUSED: ("客户表示很忙，不需要再联系。", "客户不愿多谈，礼貌结束通话。"),
}
SURVEY_REMARKS: dict[str, tuple[str, ...]] = {
    "waiting": (
        "等的时间太长了，预约了还要排队四十分钟。",
        "希望能准时开工，说好一个小时结果等了一上午。",
        "休息区等太久了，中途也没人来说一声进度。",
        "预约了还要排队，前台只有一个人接待。",
    ),
    "quality": (
        "修完没几天又出问题了，异响还在，只能返修。",
        "希望一次修好，这次空调还是不凉，跑了两趟。",
        "异响还是没完全解决，洗车也没洗干净。",
    ),
    "price": (
        "价格可以再透明一点，结账时多了几项没提前说的费用。",
        "工时费有点贵，比隔壁店贵了一百多。",
        "希望提前告知所有费用，顾问一直推销我不需要的项目。",
    ),
    "good": ("服务很好，顾问很耐心", "洗车很干净，谢谢", "交车讲解很清楚", "整体满意，下次还来", "效率很高"),
}
# A second thought some customers add, chosen by the visit (not the random stream, so the rest of the demo is
# the same whatever these say): the frequent-issues page has varied comments to read.
REMARK_ADDITIONS: dict[str, tuple[str, ...]] = {
    "waiting": ("", "电话问进度也没人接。", "", "休息区太小，座位不够。", "结账又排了半天队。"),
    "quality": ("", "师傅没解释清楚到底换了什么。", "", "车里座椅上还有油手印。"),
    "price": ("", "配件还要等一周才到货。", "", "服务态度倒是还可以。"),
    "good": ("",),
}
# Said in the month before the demo's today, by one visit in three: a problem no lexicon knows yet, so it shows
# among the month's new words.
RECENT_REMARKS = (
    "新能源车的充电桩一直坏着，等车时没法充电。",
    "充电桩坏了好几天也没人修。",
    "充电桩只有一个，还总被燃油车占着。",
)
SUGGESTIONS = (
    "希望周末能多开放一些预约时段。",
    "休息区可以加几个手机充电插座。",
    "建议交车时把更换下来的旧件拍照发给客户。",
    "希望能在微信上实时看到维修进度。",
    "建议增加上门取送车服务的覆盖范围。",
    "保养提醒短信能不能提前一周发？",
    "希望店里提供儿童游乐区。",
    "建议报价单上把工时和配件分开列清楚。",
    "新能源车的充电桩太少，等车时希望能充电。",
    "希望晚上能营业到九点，下班后方便送车。",
    "建议开通线上支付，不用到前台排队结账。",
    "休息区的咖啡可以换成现磨的。",
    "希望给老客户建一个会员积分制度。",
    "建议洗车后把脚垫也一起清洗。",
)
SUGGESTION_NOTES: dict[str, tuple[str, ...]] = {
    SuggestionDecision.ADOPT: (
        "采纳，下月起执行。",
        "采纳，已列入本季度改进计划。",
        "采纳，已通知相关岗位落实。",
    ),
    SuggestionDecision.NOT_ADOPT: (
        "暂不采纳：场地条件不允许，已向客户说明。",
        "暂不采纳：与厂家规定冲突，已向客户解释。",
        "暂不采纳：成本较高，后续评估。",
    ),
}


# --- What the generator works on ------------------------------------------------------------------------------


@dataclass
class Visit:
    """One delivered order as the feedback demo sees it."""

    pk: int
    store_id: int
    customer_id: int
    vehicle_id: int
    advisor_id: int | None
    service_type: str
    words: str
    arrived: dt.datetime
    started: dt.datetime | None
    delivered: dt.datetime
    rating: int | None
    qc_failures: int
    parts_wait: bool
    comeback_after: bool = False  # the same problem brought back within 30 days (this visit did not fix it)
    is_comeback: bool = False  # this visit is the rework
    mood: float = 0.0  # the customer's latent satisfaction, 0–10
    follow_up_response: Any = None
    follow_up_call: dt.datetime | None = None  # when the agent reached the customer

    @property
    def wait_hours(self) -> float:
        """Arrival → work start (SPEC §6 waiting time)."""
        return 0.0 if self.started is None else max((self.started - self.arrived).total_seconds() / 3600, 0.0)

    @property
    def wait_penalty(self) -> float:
        # Up to an hour and a half is what people expect; beyond it every hour costs, to a limit.
        return min(max(self.wait_hours - 1.5, 0.0) * 0.7, 1.6)


@dataclass
class StoreFeedback:
    store: Store
    values: dict[str, Any]
    agents: list[int]
    advisors: list[int]
    managers: list[int]
    handlers: list[int]  # may own complaints (advisors, agents, the manager)


@dataclass
class Built:
    consents_new: list[Any] = field(default_factory=list)
    consents_changed: list[Consent] = field(default_factory=list)
    consent_events: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    follow_ups: list[Any] = field(default_factory=list)
    attempts: list[Any] = field(default_factory=list)
    recovery: list[Any] = field(default_factory=list)
    complaints: list[Any] = field(default_factory=list)
    complaint_events: list[Any] = field(default_factory=list)
    transfers: list[Any] = field(default_factory=list)
    escalations: list[Any] = field(default_factory=list)
    suggestions: list[Any] = field(default_factory=list)
    capas: list[Any] = field(default_factory=list)
    capa_actions: list[Any] = field(default_factory=list)
    capa_events: list[Any] = field(default_factory=list)


@dataclass
class ComplaintPlan:
    """When each step of a complaint's handling happens (None: not (yet) done).  Times after "now" are dropped."""

    acknowledged: dt.datetime | None = None
    contacted: dt.datetime | None = None
    resolved: dt.datetime | None = None
    closed: dt.datetime | None = None
    reopened: dt.datetime | None = None
    contacted_again: dt.datetime | None = None
    resolved_again: dt.datetime | None = None
    closed_again: dt.datetime | None = None
    transfer: dt.datetime | None = None
    transfer_to: int | None = None
    satisfaction: tuple[int, int] = (5, 5)


def _local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=SHANGHAI)


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


class FeedbackDemo:
    def __init__(
        self, *, rng: random.Random, now: dt.datetime, contexts: dict[int, StoreFeedback], items: list[SurveyItem]
    ) -> None:
        self.rng = rng
        self.now = now
        self.contexts = contexts
        self.items = items
        self.item_by_key = {item.key: item for item in items}
        self.instrument_id = items[0].instrument_id if items else None
        self.built = Built()
        # customer id → when survey consent was granted (None: not granted) and the Consent row, if any.
        self.consent_since: dict[int, dt.datetime | None] = {}
        self.consent_rows: dict[int, Consent] = {}

    # -- small helpers --
    def pick(self, items: Any) -> Any:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def later(self, moment: dt.datetime, low: float, high: float) -> dt.datetime:
        """`moment` plus a random number of minutes between `low` and `high`."""
        return moment + dt.timedelta(minutes=self.rng.uniform(low, high))

    def in_call_hours(self, moment: dt.datetime) -> dt.datetime:
        local = moment.astimezone(SHANGHAI)
        opens, closes = CALL_HOURS
        if local.time() < opens:
            return self.later(_local(local.date(), opens), 0, 90)
        if local.time() > closes:
            return self.later(_local(local.date() + dt.timedelta(days=1), opens), 0, 90)
        return moment

    def has_consent(self, customer_id: int, at: dt.datetime) -> bool:
        since = self.consent_since.get(customer_id)
        return since is not None and since <= at

    def grant_by_phone(self, customer_id: int, at: dt.datetime, agent: int | None) -> None:
        """The consent asked on the call, as `survey_response_record` records it (consent_set, channel phone)."""
        self.consent_since[customer_id] = at
        row = self.consent_rows.get(customer_id)
        values = {"granted": True, "notice_version": PRIVACY_NOTICE_VERSION, "channel": ConsentChannel.PHONE}
        if row is None:
            row = record(
                Consent, customer_id=customer_id, purpose=ConsentPurpose.SURVEYS, decided_at=at, created_at=at, **values
            )
            self.consent_rows[customer_id] = row
            self.built.consents_new.append(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.decided_at = at
            if isinstance(row, Consent):
                self.built.consents_changed.append(row)
        self.built.consent_events.append(
            record(
                ConsentEvent,
                customer_id=customer_id,
                purpose=ConsentPurpose.SURVEYS,
                granted=True,
                notice_version=PRIVACY_NOTICE_VERSION,
                channel=ConsentChannel.PHONE,
                at=at,
                recorded_by_id=agent,
            )
        )

    # -- surveys --
    def answers(self, visit: Visit, *, full: bool) -> tuple[int, int | None, dict[str, int | str], dict[str, int]]:
        """Overall, recommend, the other answers and the expectations of one response to the visit."""
        rng = self.rng
        mood = visit.mood + rng.gauss(0, 0.35)
        overall = _clamp(mood, 0, 10)
        recommend = _clamp(mood - 0.3 + rng.gauss(0, 0.9), 0, 10) if self.chance(0.96) else None
        base = 1 + 4 * min(max((mood - 3) / 7, 0.0), 1.0)
        penalty = visit.wait_penalty
        adjust = {
            "attitude": (0.1, 0.5),
            "quality": (-1.5 * visit.comeback_after - 0.8 * visit.is_comeback - 0.3 * visit.qc_failures, 0.5),
            "waiting": (-0.9 * penalty, 0.5),
            "price_transparency": (-0.15, 0.8),  # price and explanation vary from person to person
            "explanation": (0.0, 0.75),
            "facility": (0.15, 0.5),
            "timeliness": (-0.4 * penalty - 0.6 * visit.parts_wait, 0.5),
        }
        answers: dict[str, int | str] = {}
        expectations: dict[str, int] = {}
        asks_expectations = full and self.chance(0.3)
        for key, (shift, spread) in adjust.items():
            item = self.item_by_key.get(key)
            if item is None or not (full or self.chance(0.5)) or not self.chance(0.95):
                continue
            answers[key] = _clamp(base + shift + rng.gauss(0, spread), 1, 5)
            if asks_expectations and item.asks_expectation:
                expectations[key] = _clamp(rng.gauss(4.4, 0.55), 3, 5)
        if "suggestions" in self.item_by_key and self.chance(0.45 if overall < 8 else 0.12):
            if overall >= 8:
                topic = "good"
            elif visit.comeback_after or visit.is_comeback:
                topic = "quality"
            elif penalty > 0.5:
                topic = "waiting"
            else:
                topic = self.pick(("waiting", "price", "quality"))
            answers["suggestions"] = self.pick(SURVEY_REMARKS[topic]) + self.remark_addition(visit, topic)
        return overall, recommend, answers, expectations

    def remark_addition(self, visit: Visit, topic: str) -> str:
        """A second sentence for a survey comment, chosen by the visit's id and month (never from the random
        stream: adding it leaves every other record of the demo as it was)."""
        last_month = (self.now.date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        if topic != "good" and visit.delivered.date() >= last_month and visit.pk % 3 == 0:
            return RECENT_REMARKS[visit.pk % len(RECENT_REMARKS)]
        additions = REMARK_ADDITIONS[topic]
        return additions[visit.pk % len(additions)]

    def response(
        self,
        visit: Visit,
        channel: str,
        at: dt.datetime,
        by: int | None,
        *,
        full: bool = True,
        overall: int | None = None,
        keep_open: bool = False,
    ) -> Any:
        score, recommend, answers, expectations = self.answers(visit, full=full)
        if overall is not None:
            score = overall
        response = record(
            SurveyResponse,
            store_id=visit.store_id,
            order_id=visit.pk,
            customer_id=visit.customer_id,
            instrument_id=self.instrument_id,
            channel=channel,
            overall=score,
            recommend=recommend,
            submitted_at=at,
            recorded_by_id=by,
            created_at=at,
        )
        self.built.responses.append(response)
        values = {"overall": score, "recommend": recommend, **answers}
        for item in self.items:
            value = values.get(item.key)
            if value is None:
                continue
            text = value if item.kind == ItemKind.TEXT else ""
            self.built.answers.append(
                record(
                    SurveyAnswer,
                    response=response,
                    item_id=item.pk,
                    value=None if item.kind == ItemKind.TEXT else value,
                    expectation=expectations.get(item.key),
                    text=text,
                )
            )
        self.recovery_if_low(visit, response, at, keep_open=keep_open)
        return response

    def recovery_if_low(self, visit: Visit, response: Any, at: dt.datetime, *, keep_open: bool = False) -> None:
        """`recovery_open_if_low`: the advisor answers within the window; a late one is escalated by the sweep."""
        values = self.contexts[visit.store_id].values
        if response.overall is None or response.overall >= int(values["low_score_threshold"]):
            return
        window = dt.timedelta(minutes=int(values["recovery_due_minutes"]))
        due = at + window
        late = self.chance(0.1)
        closed = self.later(due, 5, 100) if late else self.later(at, 6, max(window.total_seconds() / 60 - 3, 7))
        task = record(
            RecoveryTask,
            store_id=visit.store_id,
            response=response,
            order_id=visit.pk,
            advisor_id=visit.advisor_id,
            opened_at=at,
            due_at=due,
            created_at=at,
        )
        # The sweep runs every minute: the first run after the due time alerts the store manager, the first
        # run one window later (still without an outcome) the group.
        store_alert = self.later(due, 0.1, 1)
        group_alert = self.later(due + window, 0.1, 1)
        done = closed if closed <= self.now and not keep_open else None
        if store_alert < (done or self.now):
            task.escalated_store_at = store_alert
        if group_alert < (done or self.now):
            task.escalated_group_at = group_alert
        if done is not None:
            outcome = self.rng.choices(
                (RecoveryOutcome.CONTACTED, RecoveryOutcome.RESOLVED, RecoveryOutcome.REFUSED), (45, 45, 10)
            )[0]
            task.status, task.outcome, task.closed_at = RecoveryStatus.DONE, outcome, done
            task.note = self.pick(RECOVERY_NOTES[outcome])
            task.closed_by_id = visit.advisor_id
        task.updated_at = done or at
        self.built.recovery.append(task)

    # -- follow-ups --
    def follow_up(self, visit: Visit, script: tuple[dt.datetime, int] | None = None, *, queued: bool = False) -> None:
        """The follow-up of one visit: created by the sweep at delivery, then the link answer or the calls;
        `queued`: not reached yet, waiting in the agents' queue."""
        ctx = self.contexts[visit.store_id]
        values = ctx.values
        created = self.later(visit.delivered, 0.1, 1)
        due = visit.delivered + dt.timedelta(hours=int(values["follow_up_due_hours"]))
        follow_up = record(
            FollowUp, store_id=visit.store_id, order_id=visit.pk, due_at=due, created_at=created, updated_at=created
        )
        self.built.follow_ups.append(follow_up)
        if visit.rating is not None and self.has_consent(visit.customer_id, visit.delivered) and self.chance(0.35):
            # The survey at the desk, the same moment the customer rated the visit on the order.
            self.response(
                visit,
                SurveyChannel.DELIVERY,
                visit.delivered,
                visit.advisor_id,
                full=self.chance(0.5),
                overall=visit.rating,
            )
        if queued:
            return
        if script is None and self.has_consent(visit.customer_id, visit.delivered) and self.chance(0.22):
            answered = visit.delivered + dt.timedelta(hours=min(self.rng.lognormvariate(1.2, 0.8), 20))
            if answered <= self.now:
                response = self.response(visit, SurveyChannel.CUSTOMER_LINK, answered, None)
                self.close_follow_up(follow_up, FollowUpStatus.DONE, answered, None, response)
                visit.follow_up_response = response
                return
        agent = self.pick(ctx.agents) if ctx.agents else None
        max_attempts = int(values["follow_up_max_attempts"])
        if script is not None:
            call_at, overall = script
            visit.mood = overall
            self.call(follow_up, 1, CallOutcome.REACHED, call_at, agent)
            response = self.response(
                visit, SurveyChannel.FOLLOW_UP_CALL, call_at, agent, overall=overall, keep_open=True
            )
            self.close_follow_up(follow_up, FollowUpStatus.DONE, call_at, agent, response)
            visit.follow_up_response, visit.follow_up_call = response, call_at
            return
        first = due - dt.timedelta(hours=self.rng.uniform(1.5, 9))
        if self.chance(0.05):  # a busy day: the call comes late
            first = due + dt.timedelta(hours=self.rng.uniform(1, 30))
        at = self.in_call_hours(max(first, visit.delivered + dt.timedelta(hours=2)))
        for number in range(1, max_attempts + 1):
            if at > self.now:
                return  # still in the agents' queue
            agent = self.pick(ctx.agents) if ctx.agents else None
            roll = self.rng.random()
            if number == 1 and roll < 0.03:
                self.call(follow_up, number, CallOutcome.WRONG_NUMBER, at, agent)
                self.close_follow_up(follow_up, FollowUpStatus.UNREACHABLE, at, agent)
                return
            if roll < 0.7:
                consent = self.has_consent(visit.customer_id, at)
                if consent and self.chance(0.95) or not consent and self.chance(0.3):
                    self.call(follow_up, number, CallOutcome.REACHED, at, agent)
                    if not consent:
                        self.grant_by_phone(visit.customer_id, at, agent)
                    response = self.response(visit, SurveyChannel.FOLLOW_UP_CALL, at, agent)
                    self.close_follow_up(follow_up, FollowUpStatus.DONE, at, agent, response)
                    visit.follow_up_response, visit.follow_up_call = response, at
                else:
                    self.call(follow_up, number, CallOutcome.REFUSED, at, agent)
                    self.close_follow_up(follow_up, FollowUpStatus.REFUSED, at, agent)
                return
            self.call(follow_up, number, CallOutcome.NO_ANSWER, at, agent)
            if number == max_attempts:
                self.close_follow_up(follow_up, FollowUpStatus.UNREACHABLE, at, agent)
                return
            at = self.in_call_hours(self.later(at, 60, 180))

    def call(self, follow_up: Any, number: int, outcome: str, at: dt.datetime, agent: int | None) -> None:
        follow_up.attempts = number
        follow_up.updated_at = at
        self.built.attempts.append(
            record(CallAttempt, follow_up=follow_up, number=number, outcome=outcome, at=at, by_id=agent)
        )

    def close_follow_up(
        self, follow_up: Any, status: str, at: dt.datetime, by: int | None, response: Any = None
    ) -> None:
        follow_up.status, follow_up.closed_at, follow_up.closed_by_id, follow_up.updated_at = status, at, by, at
        follow_up.response = response

    # -- complaints --
    def complaint(
        self,
        ctx: StoreFeedback,
        *,
        customer_id: int,
        order_id: int | None,
        channel: str,
        category: str,
        priority: str,
        description: str,
        received: dt.datetime,
        logged: dt.datetime,
        logged_by: int | None,
        plan: ComplaintPlan | Callable[[Any], ComplaintPlan],
        resolution: str,
    ) -> Any:
        """One complaint walked through `COMPLAINT_FLOW` along `plan`, cut at now, with the escalations the
        sweep would have made."""
        now = self.now
        due = services.complaint_due_times(store=ctx.store, channel=channel, received_at=received)
        if callable(plan):
            plan = plan(due)
        complaint = record(
            Complaint,
            store_id=ctx.store.pk,
            customer_id=customer_id,
            order_id=order_id,
            channel=channel,
            category=category,
            priority=priority,
            description=description,
            received_at=received,
            logged_at=logged,
            logged_by_id=logged_by,
            owner_id=logged_by,
            acknowledge_due=due.acknowledge_due,
            contact_due=due.contact_due,
            resolve_due=due.resolve_due,
            status=C.NEW,
            created_at=logged,
            updated_at=logged,
        )
        self.built.complaints.append(complaint)
        events = self.built.complaint_events
        events.append(
            record(ComplaintEvent, complaint=complaint, from_status="", to_status=C.NEW, at=logged, by_id=logged_by)
        )
        # (status, from) intervals and the done times per clock, for the escalations below.
        open_since: list[tuple[dt.datetime, dt.datetime | None]] = []
        unresolved_from = logged

        def move(to: str, at: dt.datetime | None, note: str = "") -> bool:
            if at is None or at > now:
                return False
            events.append(
                record(
                    ComplaintEvent,
                    complaint=complaint,
                    from_status=complaint.status,
                    to_status=to,
                    at=at,
                    by_id=complaint.owner_id,
                    note=note,
                )
            )
            complaint.status, complaint.updated_at = to, at
            return True

        def transfer_if_due(before: dt.datetime | None) -> None:
            at = plan.transfer
            if at is None or at > now or (before is not None and at > before) or plan.transfer_to is None:
                return
            if plan.transfer_to == complaint.owner_id or complaint.status == C.CLOSED:
                return
            self.built.transfers.append(
                record(
                    ComplaintTransfer,
                    complaint=complaint,
                    from_owner_id=complaint.owner_id,
                    to_owner_id=plan.transfer_to,
                    reason=self.pick(TRANSFER_REASONS),
                    at=at,
                    by_id=complaint.owner_id,
                )
            )
            complaint.owner_id = plan.transfer_to
            plan.transfer = None

        done = self._walk(complaint, plan, move, transfer_if_due, resolution)
        if done.get("resolved") is None:
            open_since.append((unresolved_from, None))
        else:
            open_since.append((unresolved_from, done["resolved"]))
            if done.get("reopened") is not None:
                open_since.append((done["reopened"], done.get("resolved_again")))
        transfer_if_due(None)
        self._escalate(complaint, done, open_since)
        return complaint

    def _walk(
        self,
        complaint: Any,
        plan: ComplaintPlan,
        move: Callable[..., bool],
        transfer_if_due: Callable[[dt.datetime | None], None],
        resolution: str,
    ) -> dict[str, dt.datetime | None]:
        done: dict[str, dt.datetime | None] = {}
        transfer_if_due(plan.acknowledged)
        if complaint.owner_id is None and plan.acknowledged is not None and plan.acknowledged <= self.now:
            # Logged from the customer's page: whoever acknowledges it owns it.
            ctx = self.contexts[complaint.store_id]
            complaint.owner_id = self.pick(ctx.agents or ctx.handlers)
        if not move(C.ACKNOWLEDGED, plan.acknowledged, self.pick(ACK_NOTES)):
            return done
        complaint.acknowledged_at = done["acknowledged"] = plan.acknowledged
        transfer_if_due(plan.contacted)
        if not move(C.CONTACTED, plan.contacted):
            return done
        complaint.contacted_at = done["contacted"] = plan.contacted
        transfer_if_due(plan.resolved)
        if not move(C.RESOLVED, plan.resolved):
            return done
        complaint.resolved_at = done["resolved"] = plan.resolved
        complaint.resolution = resolution
        if not move(C.CLOSED, plan.closed):
            return done
        complaint.customer_confirmed_at = complaint.closed_at = plan.closed
        complaint.satisfaction_with_handling = plan.satisfaction[0]
        if not move(C.ACKNOWLEDGED, plan.reopened, self.pick(REOPEN_REASONS)):
            return done
        done["reopened"] = plan.reopened
        complaint.reopened_count = 1
        complaint.resolved_at = complaint.customer_confirmed_at = complaint.closed_at = None
        complaint.satisfaction_with_handling = None
        if not move(C.CONTACTED, plan.contacted_again):
            return done
        if not move(C.RESOLVED, plan.resolved_again):
            return done
        complaint.resolved_at = done["resolved_again"] = plan.resolved_again
        complaint.resolution = f"{resolution}（二次处理：再次返修并致歉）"
        if not move(C.CLOSED, plan.closed_again):
            return done
        complaint.customer_confirmed_at = complaint.closed_at = plan.closed_again
        complaint.satisfaction_with_handling = plan.satisfaction[1]
        return done

    def _escalate(
        self,
        complaint: Any,
        done: dict[str, dt.datetime | None],
        unresolved: list[tuple[dt.datetime, dt.datetime | None]],
    ) -> None:
        """`complaint_escalation_sweep`, replayed: a clock escalates at the first minute after its due time at
        which the complaint is in an open state with that step undone.  First breach → store, then group."""
        logged = complaint.logged_at
        windows = {
            ComplaintClock.ACKNOWLEDGE: [(logged, done.get("acknowledged"))],
            ComplaintClock.CONTACT: [(logged, done.get("contacted"))],
            ComplaintClock.RESOLVE: unresolved,
        }
        dues = {
            ComplaintClock.ACKNOWLEDGE: complaint.acknowledge_due,
            ComplaintClock.CONTACT: complaint.contact_due,
            ComplaintClock.RESOLVE: complaint.resolve_due,
        }
        found: list[tuple[dt.datetime, str]] = []
        for clock_name, spans in windows.items():
            for start, end in spans:
                at = self.later(max(dues[clock_name], start), 0.1, 1)
                if at <= self.now and (end is None or at < end):
                    found.append((at, clock_name))
                    break
        for index, (at, clock_name) in enumerate(sorted(found)):
            self.built.escalations.append(
                record(
                    ComplaintEscalation,
                    complaint=complaint,
                    clock=clock_name,
                    level=EscalationLevel.STORE if index == 0 else EscalationLevel.GROUP,
                    due_at=dues[clock_name],
                    at=at,
                )
            )
        complaint.breach_count = len(found)

    def plan(self, ctx: StoreFeedback, received: dt.datetime, logged: dt.datetime, due: Any) -> ComplaintPlan:
        """Realistic handling times: mostly within the clocks, some late, a few transfers and reopenings."""
        rng = self.rng
        ack = self.later(logged, 5, 100) if self.chance(0.92) else self.later(received, 125, 420)
        ack = max(ack, logged + dt.timedelta(minutes=2))
        contacted = self.later(ack, 20, 60 * 18) if self.chance(0.92) else self.later(due.contact_due, 30, 60 * 16)
        contacted = max(contacted, ack + dt.timedelta(minutes=5))
        if self.chance(0.9):
            resolved = contacted + max(due.resolve_due - contacted, dt.timedelta(hours=2)) * rng.uniform(0.1, 0.9)
        else:
            resolved = self.later(max(due.resolve_due, contacted), 60, 60 * 40)
        closed = self.later(resolved, 60, 60 * 40)
        good = rng.choices((5, 4, 3, 2), (50, 35, 11, 4))[0]
        plan = ComplaintPlan(
            acknowledged=ack, contacted=contacted, resolved=resolved, closed=closed, satisfaction=(good, good)
        )
        if self.chance(0.05):
            plan.satisfaction = (rng.choice((2, 3)), rng.choice((3, 4, 5)))
            plan.reopened = self.later(closed, 60 * 20, 60 * 24 * 6)
            plan.contacted_again = self.later(plan.reopened, 30, 60 * 5)
            plan.resolved_again = self.later(plan.contacted_again, 60 * 4, 60 * 30)
            plan.closed_again = self.later(plan.resolved_again, 60, 60 * 24)
        if self.chance(0.1) and len(ctx.handlers) > 1:
            plan.transfer = self.later(ack, 5, max((contacted - ack).total_seconds() / 60 - 1, 6))
            plan.transfer_to = self.pick(ctx.managers or ctx.handlers)
        return plan


# --- Building the demo ---------------------------------------------------------------------------------------


def _contexts(stores: list[Store]) -> dict[int, StoreFeedback]:
    members: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for store_id, user_id, role in (
        Membership.objects.filter(store__in=stores, user__is_active=True)
        .order_by("store_id", "user_id")
        .values_list("store_id", "user_id", "role")
    ):
        members[store_id][role].append(user_id)
    contexts = {}
    for store in stores:
        roles = members[store.pk]
        contexts[store.pk] = StoreFeedback(
            store=store,
            values=setting_values_for_store(store),
            agents=roles[Role.AGENT],
            advisors=roles[Role.ADVISOR],
            managers=roles[Role.MANAGER],
            handlers=sorted(set(roles[Role.AGENT] + roles[Role.ADVISOR] + roles[Role.MANAGER])),
        )
    return contexts


def _visits(stores: list[Store]) -> list[Visit]:
    """Delivered orders with what the scores depend on; comebacks as SPEC §6 defines them (same vehicle, same
    complaint, back within 30 days of delivery)."""
    rows = (
        RepairOrder.objects.filter(store__in=stores)
        .order_by("vehicle_id", "arrived_at", "id")
        .values_list(
            "id",
            "store_id",
            "customer_id",
            "vehicle_id",
            "advisor_id",
            "service_type",
            "customer_words",
            "arrived_at",
            "work_started_at",
            "delivered_at",
            "rating",
            "qc_failures",
            "waiting_parts_reason",
            "status",
        )
    )
    visits: list[Visit] = []
    last_by_vehicle: dict[int, Visit] = {}
    for (
        pk,
        store,
        customer,
        vehicle,
        advisor,
        kind,
        words,
        arrived,
        started,
        delivered,
        rating,
        qc,
        parts,
        status,
    ) in rows:
        earlier = last_by_vehicle.get(vehicle)
        comeback = (
            earlier is not None
            and earlier.service_type == kind
            and complaint_category(earlier.words) == complaint_category(words)
            and arrived - earlier.delivered <= dt.timedelta(days=COMEBACK_DAYS)
        )
        if comeback and earlier is not None:
            earlier.comeback_after = True
        if status != RepairOrderStatus.DELIVERED or delivered is None:
            continue
        visit = Visit(
            pk=pk,
            store_id=store,
            customer_id=customer,
            vehicle_id=vehicle,
            advisor_id=advisor,
            service_type=kind,
            words=words,
            arrived=arrived,
            started=started,
            delivered=delivered,
            rating=rating,
            qc_failures=qc,
            parts_wait=bool(parts),
            is_comeback=comeback,
        )
        visits.append(visit)
        last_by_vehicle[vehicle] = visit
    visits.sort(key=lambda v: (v.delivered, v.pk))
    return visits


def _moods(demo: FeedbackDemo, visits: list[Visit]) -> None:
    """The customer's latent satisfaction per visit; the delivery rating (where given) pulls it its way."""
    rng = demo.rng
    for visit in visits:
        mood = rng.gauss(9.3, 0.85) - visit.wait_penalty
        mood -= 2.6 * visit.comeback_after + 1.3 * visit.is_comeback + 0.5 * visit.qc_failures + 0.5 * visit.parts_wait
        if visit.rating is not None:
            mood = 0.7 * mood + 0.3 * (visit.rating + 0.4)
        visit.mood = mood


def _scripted_recovery(demo: FeedbackDemo, visits: list[Visit], store: Store, advisor: int | None) -> dict[int, Any]:
    """Two follow-up calls of this morning in the first store gave low scores: one recovery task still within
    its hour, one overdue and escalated to the store manager."""
    now = demo.now
    # The latest deliveries (yesterday's, in a full demo), the demo advisor's first.
    recent = [v for v in visits if v.store_id == store.pk and v.delivered <= now - dt.timedelta(hours=4)][-12:]
    recent.sort(key=lambda v: (v.advisor_id != advisor, -v.delivered.timestamp(), v.pk))
    scripts = {}
    for visit, (minutes_ago, score) in zip(recent, ((25, 6), (95, 5)), strict=False):
        scripts[visit.pk] = (now - dt.timedelta(minutes=minutes_ago), score)
    return scripts


def _weighted_sample(rng: random.Random, items: list[Visit], weights: list[float], k: int) -> list[Visit]:
    """k items without replacement, chance proportional to weight (Efraimidis–Spirakis keys)."""
    keyed = sorted(((rng.random() ** (1 / w), index) for index, w in enumerate(weights)), reverse=True)
    return [items[index] for _key, index in keyed[:k]]


CATEGORY_WEIGHTS = (
    (ComplaintCategory.WAITING, 30),
    (ComplaintCategory.QUALITY, 25),
    (ComplaintCategory.PRICE, 15),
    (ComplaintCategory.ATTITUDE, 12),
    (ComplaintCategory.PARTS, 10),
    (ComplaintCategory.OTHER, 8),
)
CHANNEL_WEIGHTS = (
    (FeedbackChannel.PHONE, 35),
    (FeedbackChannel.FOLLOW_UP, 20),
    (FeedbackChannel.ON_SITE, 15),
    (FeedbackChannel.CUSTOMER_PAGE, 15),
    (FeedbackChannel.ONLINE_REVIEW, 15),
)


CATEGORY_ZH = {
    ComplaintCategory.ATTITUDE: "服务态度",
    ComplaintCategory.QUALITY: "维修质量",
    ComplaintCategory.PRICE: "价格",
    ComplaintCategory.PARTS: "配件",
    ComplaintCategory.WAITING: "等待时间",
    ComplaintCategory.OTHER: "其他",
}


def _describe(demo: FeedbackDemo, channel: str, category: str) -> str:
    text = demo.pick(COMPLAINTS[category]) + demo.pick(COMPLAINT_TAILS)
    if channel == FeedbackChannel.ONLINE_REVIEW:
        return demo.pick(ONLINE_PREFIX) + text
    if channel == FeedbackChannel.FOLLOW_UP:
        return demo.pick(FOLLOW_UP_PREFIX) + text
    return text


def _history_complaints(demo: FeedbackDemo, visits: list[Visit], skip: set[int]) -> None:
    rng = demo.rng
    candidates = [v for v in visits if v.pk not in skip]
    weights = []
    for visit in candidates:
        low = visit.follow_up_response is not None and visit.follow_up_response.overall <= 5
        weights.append(1 + 6 * low + 5 * visit.comeback_after + 2 * visit.is_comeback + 2 * (visit.wait_hours > 2))
    for visit in sorted(
        _weighted_sample(rng, candidates, weights, round(len(candidates) * COMPLAINT_RATE)), key=lambda v: v.delivered
    ):
        ctx = demo.contexts[visit.store_id]
        if visit.comeback_after or visit.is_comeback:
            category = ComplaintCategory.QUALITY
        elif visit.wait_penalty > 0.7 and demo.chance(0.45):
            category = ComplaintCategory.WAITING
        else:
            category = rng.choices(*zip(*CATEGORY_WEIGHTS, strict=True))[0]
        channel = rng.choices(*zip(*CHANNEL_WEIGHTS, strict=True))[0]
        if channel == FeedbackChannel.FOLLOW_UP and visit.follow_up_call is None:
            channel = FeedbackChannel.PHONE
        if channel == FeedbackChannel.FOLLOW_UP:
            received = logged = visit.follow_up_call
            logged_by = demo.pick(ctx.agents or ctx.handlers)
        elif channel == FeedbackChannel.ON_SITE:
            if demo.chance(0.5):  # at the desk, picking the car up
                received = max(demo.later(visit.delivered, -45, 0), visit.arrived)
            else:  # came back to the store to complain
                received = demo.in_call_hours(demo.later(visit.delivered, 60 * 24, 60 * 24 * 6))
            logged = demo.later(received, 1, 15)
            logged_by = visit.advisor_id or demo.pick(ctx.handlers)
        elif channel == FeedbackChannel.CUSTOMER_PAGE:
            received = logged = demo.later(visit.delivered, 60, 60 * 24 * 4)
            logged_by = None  # owned by whoever acknowledges it
        elif channel == FeedbackChannel.ONLINE_REVIEW:
            received = demo.later(visit.delivered, 60 * 3, 60 * 24 * 5)
            logged = demo.later(received, 15, 150)  # found by the agent on their rounds
            logged_by = demo.pick(ctx.agents or ctx.handlers)
        else:
            received = demo.in_call_hours(demo.later(visit.delivered, 60 * 2, 60 * 24 * 5))
            logged = demo.later(received, 0.5, 8)
            logged_by = demo.pick(ctx.agents or ctx.handlers)
        if logged > demo.now - dt.timedelta(hours=3):
            continue  # the live ones are scripted below
        urgent = visit.comeback_after and demo.chance(0.4)
        priority = (
            ComplaintPriority.URGENT
            if urgent or demo.chance(0.06)
            else rng.choices((ComplaintPriority.IMPORTANT, ComplaintPriority.GENERAL), (35, 65))[0]
        )
        demo.complaint(
            ctx,
            customer_id=visit.customer_id,
            order_id=visit.pk if demo.chance(0.93) else None,
            channel=channel,
            category=category,
            priority=priority,
            description=_describe(demo, channel, category),
            received=received,
            logged=logged,
            logged_by=logged_by,
            plan=lambda due: demo.plan(ctx, received, logged, due),  # noqa: B023 - called at once
            resolution=demo.pick(RESOLUTIONS[category]),
        )


def _live_complaints(demo: FeedbackDemo, visits: list[Visit], ctx: StoreFeedback, users: dict[str, Any]) -> None:
    """Open complaints in the first store with running clocks: one overdue, one close to due, and three in
    later states (one whose resolve clock was breached after an earlier breach: escalated to the group)."""
    now = demo.now
    agent = getattr(users.get("agent"), "pk", None) or (ctx.agents[0] if ctx.agents else None)
    advisor = getattr(users.get("advisor"), "pk", None) or (ctx.advisors[0] if ctx.advisors else None)
    manager = getattr(users.get("manager"), "pk", None) or (ctx.managers[0] if ctx.managers else None)
    recent = [v for v in reversed(visits) if v.store_id == ctx.store.pk and v.delivered < now - dt.timedelta(hours=84)]
    if not recent:
        return

    def hours(n: float) -> dt.datetime:
        return now - dt.timedelta(hours=n)

    script = (
        # channel, category, priority, received h ago, logged after (min), logged by, plan (h after receipt)
        (FeedbackChannel.PHONE, ComplaintCategory.WAITING, ComplaintPriority.IMPORTANT, 2.8, 3, agent, {}),
        (FeedbackChannel.CUSTOMER_PAGE, ComplaintCategory.ATTITUDE, ComplaintPriority.GENERAL, 1.7, 0, None, {}),
        (FeedbackChannel.PHONE, ComplaintCategory.QUALITY, ComplaintPriority.URGENT, 19, 4, advisor, {"ack": 0.8}),
        (
            FeedbackChannel.ONLINE_REVIEW,
            ComplaintCategory.PRICE,
            ComplaintPriority.IMPORTANT,
            30,
            40,
            agent,
            {"ack": 1.2, "contact": 5},
        ),
        (
            FeedbackChannel.PHONE,
            ComplaintCategory.PARTS,
            ComplaintPriority.IMPORTANT,
            80,
            5,
            agent,
            {"ack": 2.5, "contact": 6, "transfer": 20},
        ),
    )
    for index, (channel, category, priority, ago, delay, by, steps) in enumerate(script):
        visit = recent[min(index * 3, len(recent) - 1)]
        received = hours(ago)
        plan = ComplaintPlan()
        if "ack" in steps:
            plan.acknowledged = received + dt.timedelta(hours=steps["ack"])
        if "contact" in steps:
            plan.contacted = received + dt.timedelta(hours=steps["contact"])
        if "transfer" in steps and manager is not None:
            plan.transfer, plan.transfer_to = received + dt.timedelta(hours=steps["transfer"]), manager
        demo.complaint(
            ctx,
            customer_id=visit.customer_id,
            order_id=visit.pk,
            channel=channel,
            category=category,
            priority=priority,
            description=_describe(demo, channel, category),
            received=received,
            logged=received + dt.timedelta(minutes=delay),
            logged_by=by,
            plan=plan,
            resolution="",
        )


def _suggestions(demo: FeedbackDemo, visits: list[Visit], first: StoreFeedback, users: dict[str, Any]) -> None:
    rng = demo.rng
    now = demo.now
    chosen = [v for v in visits if demo.chance(SUGGESTION_RATE)]
    recent = [v for v in reversed(visits) if v.store_id == first.store.pk][:2]
    # Two awaiting a decision in the first store: one received yesterday, one overdue (escalated).
    plans = [(v, now - dt.timedelta(hours=h), True) for v, h in zip(recent, (20, 24 * 9), strict=False)]
    for visit in chosen:
        received = demo.in_call_hours(demo.later(visit.delivered, 60, 60 * 24 * 3))
        if received < now - dt.timedelta(days=7):
            plans.append((visit, received, False))
    for visit, received, scripted in plans:
        ctx = demo.contexts[visit.store_id]
        channel = rng.choices(
            (
                FeedbackChannel.FOLLOW_UP,
                FeedbackChannel.CUSTOMER_PAGE,
                FeedbackChannel.ON_SITE,
                FeedbackChannel.PHONE,
                FeedbackChannel.ONLINE_REVIEW,
            ),
            (35, 25, 20, 15, 5),
        )[0]
        due = services.suggestion_decision_due(store=ctx.store, received_at=received)
        logged_by = None if channel == FeedbackChannel.CUSTOMER_PAGE else demo.pick(ctx.agents or ctx.handlers)
        suggestion = record(
            Suggestion,
            store_id=ctx.store.pk,
            customer_id=visit.customer_id,
            channel=channel,
            description=demo.pick(SUGGESTIONS),
            received_at=received,
            logged_at=received,
            logged_by_id=logged_by,
            decision_due=due,
            created_at=received,
            updated_at=received,
        )
        demo.built.suggestions.append(suggestion)
        if scripted:
            decided = None
        elif demo.chance(0.88):
            decided = received + (due - received) * rng.uniform(0.15, 0.9)
        else:
            decided = demo.later(due, 60 * 2, 60 * 24 * 3)
        alert = demo.later(due, 0.1, 1)
        if alert <= now and (decided is None or alert < decided):
            suggestion.escalated_at = alert
        if decided is None or decided > now:
            continue
        decision = rng.choices((SuggestionDecision.ADOPT, SuggestionDecision.NOT_ADOPT), (55, 45))[0]
        suggestion.status, suggestion.decision, suggestion.decided_at = SuggestionStatus.DECIDED, decision, decided
        suggestion.decision_note = demo.pick(SUGGESTION_NOTES[decision])
        suggestion.decided_by_id = demo.pick(ctx.managers or ctx.handlers)
        suggestion.updated_at = decided
        told = demo.later(decided, 30, 60 * 30)
        if told <= now and demo.chance(0.92):
            suggestion.status, suggestion.customer_told_at, suggestion.updated_at = SuggestionStatus.CLOSED, told, told


CLOSED_CAPA_TEXTS: dict[str, dict[str, Any]] = {
    ComplaintCategory.WAITING: {
        "title": "缩短客户到店后的等待开工时间",
        "root_cause": (
            "早上八点半到十点集中到店，前台只有两人接待，环车检查和报价排队；派工要等车间主管晨会后统一安排，"
            "预约客户与非预约客户没有分开排队。"
        ),
        "actions": (
            "早高峰增加一名前台接待，顾问错峰上班",
            "预约客户到店即派工，车间主管提前一天排好工位",
            "休息区屏幕显示排队和维修进度",
        ),
        "kpi": "等待时间类投诉（件/月）",
        "procedure": (
            "《预约接待流程》第3版：预约客户到店五分钟内环车检查，十五分钟内派工；早高峰（8:30–10:00）前台不少于三人。"
        ),
    },
}


def _generic_capa_texts(category: str) -> dict[str, Any]:
    """The closed CAPA of a month whose top complaint category is not waiting time."""
    name = CATEGORY_ZH[category]
    return {
        "title": f"减少{name}类投诉",
        "root_cause": (
            f"{name}类投诉集中在同一个月：接待与车间交接时信息遗漏，承诺时间前未主动告知客户进展，事后缺少复盘。"
        ),
        "actions": (
            f"每周例会复盘{name}类投诉，逐条找到责任环节",
            "顾问在承诺时间前主动告知客户进展",
            "交车前按清单复核客户提出的每一项问题",
        ),
        "kpi": f"{name}类投诉（件/月）",
        "procedure": f"《服务质量复盘制度》第2版：{name}类投诉每周复盘，整改措施纳入岗位标准作业。",
    }


def _capas(demo: FeedbackDemo, ctx: StoreFeedback, users: dict[str, Any]) -> None:
    """Three CAPAs in the first store: one closed (from the month with the most waiting-time complaints, with the
    procedure change and the KPI before and after), one acting (from a repair-quality complaint), one in
    root-cause analysis (from last month's top category)."""
    now = demo.now
    manager = getattr(users.get("manager"), "pk", None) or (ctx.managers[0] if ctx.managers else None)
    owners = [
        u for u in (manager, getattr(users.get("advisor"), "pk", None), getattr(users.get("agent"), "pk", None)) if u
    ]
    owners = owners or ctx.handlers
    if not owners:
        return
    mine = [c for c in demo.built.complaints if c.store_id == ctx.store.pk]
    per_month: dict[tuple[str, dt.date], int] = defaultdict(int)
    for complaint in mine:
        month = complaint.received_at.astimezone(SHANGHAI).date().replace(day=1)
        per_month[(complaint.category, month)] += 1
    this_month = now.astimezone(SHANGHAI).date().replace(day=1)

    def month_after(month: dt.date, n: int = 1) -> dt.date:
        for _step in range(n):
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return month

    def capa(title: str, opened: dt.datetime, **values: Any) -> Any:
        row = record(
            Capa,
            store_id=ctx.store.pk,
            title=title,
            opened_by_id=manager,
            created_at=opened,
            updated_at=opened,
            **values,
        )
        demo.built.capas.append(row)
        demo.built.capa_events.append(
            record(CapaEvent, capa=row, from_status="", to_status=CapaStatus.OPEN, at=opened, by_id=manager)
        )
        return row

    def move(row: Any, to: str, at: dt.datetime, note: str = "") -> None:
        demo.built.capa_events.append(
            record(CapaEvent, capa=row, from_status=row.status, to_status=to, at=at, by_id=manager, note=note)
        )
        row.status, row.updated_at = to, at
        if to == CapaStatus.CLOSED:
            row.closed_at = at

    def action(row: Any, text: str, owner: int, due: dt.date, done: dt.datetime | None, created: dt.datetime) -> None:
        # The sweep told the owner on the due day when the action was still undone then.
        alerted: dt.datetime | None = _local(due, dt.time(9, 0))
        if alerted is not None and (alerted > now or (done is not None and done <= alerted)):
            alerted = None
        demo.built.capa_actions.append(
            record(
                CapaAction,
                capa=row,
                description=text,
                owner_id=owner,
                due_date=due,
                done_at=done if done is not None and done <= now else None,
                # The sweep told the owner on the due day when the action was still undone then.
                due_alerted_at=alerted
                if (alerted := _local(due, dt.time(9, 0))) <= now and (done is None or done > alerted)
                else None,
                created_at=created,
                updated_at=done if done is not None and done <= now else created,
            )
        )

    # 1. Closed: the month with the most waiting-time complaints, at least four months back; in a history without
    # one, the month with the most complaints of any category (so the demo always shows a closed loop).
    eligible = {(category, m): n for (category, m), n in per_month.items() if month_after(m, 5) <= this_month}
    waiting = [key for key in eligible if key[0] == ComplaintCategory.WAITING]
    if waiting or eligible:
        category, worst = max(waiting or list(eligible), key=lambda key: (eligible[key], key[1], key[0]))
        before = per_month[(category, worst)]
        after_month = month_after(worst, 3)
        after = per_month.get((category, after_month), 0)
        opened = _local(month_after(worst), dt.time(10, 0)) + dt.timedelta(days=2)
        texts = CLOSED_CAPA_TEXTS.get(category) or _generic_capa_texts(category)
        row = capa(texts["title"], opened, cluster_category=category, cluster_month=worst)
        row.root_cause = texts["root_cause"]
        move(row, CapaStatus.ANALYSING, opened + dt.timedelta(days=1, hours=2))
        start = opened + dt.timedelta(days=4)
        for offset, (text, who) in enumerate(
            zip(texts["actions"], (owners[0], owners[-1], owners[min(1, len(owners) - 1)]), strict=True)
        ):
            action(
                row,
                text,
                who,
                (start + dt.timedelta(days=14 + 5 * offset)).date(),
                start + dt.timedelta(days=8 + 5 * offset),
                start,
            )
        move(row, CapaStatus.ACTING, start)
        move(row, CapaStatus.VERIFYING, start + dt.timedelta(days=19), "三项措施均已完成")
        row.kpi_name = texts["kpi"]
        row.kpi_before, row.kpi_after = Decimal(before), Decimal(min(after, max(before - 1, 0)))
        row.procedure_change = texts["procedure"]
        move(
            row,
            CapaStatus.CLOSED,
            _local(month_after(after_month), dt.time(16, 0)) + dt.timedelta(days=2),
            "连续一个月达标，流程已固化",
        )

    # 2. Acting: from a recent repair-quality complaint that is closed.
    quality = [
        c
        for c in mine
        if c.category == ComplaintCategory.QUALITY
        and c.status == C.CLOSED
        and c.closed_at < now - dt.timedelta(days=12)
    ] or [c for c in mine if c.status == C.CLOSED and c.closed_at < now - dt.timedelta(days=12)]
    if quality:
        source = quality[-1]
        opened = source.closed_at + dt.timedelta(days=1)
        row = capa("同一故障反复返修：建立疑难故障复检机制", opened, complaint=source)
        row.root_cause = "疑难异响只凭试车判断，没有用诊断仪和底盘举升复检；交车前质检清单没有对返修车单独复核。"
        move(row, CapaStatus.ANALYSING, opened + dt.timedelta(days=1))
        start = opened + dt.timedelta(days=3)
        today = now.astimezone(SHANGHAI).date()
        plans = (
            ("返修车交车前由高级技师二次路试并签字", owners[0], start + dt.timedelta(days=3)),
            ("每周技术例会复盘本周返修案例", owners[-1], None),
            ("质检清单增加“返修项目复核”一栏", owners[min(1, len(owners) - 1)], None),
        )
        for offset, (text, who, done) in enumerate(plans):
            action(
                row,
                text,
                who,
                today + dt.timedelta(days=5 + 7 * offset) if done is None else (start + dt.timedelta(days=7)).date(),
                done,
                start,
            )
        move(row, CapaStatus.ACTING, start)

    # 3. Analysing: last month's most frequent category.
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    counts = {category: n for (category, m), n in per_month.items() if m == last_month}
    category = max(counts, key=lambda k: (counts[k], k)) if counts else ComplaintCategory.PRICE
    opened = min(_local(this_month, dt.time(9, 30)) + dt.timedelta(days=1), now - dt.timedelta(hours=2))
    row = capa(f"上月高频问题：{CATEGORY_ZH[category]}", opened, cluster_category=category, cluster_month=last_month)
    row.root_cause = "初步分析：问题集中在周末和节前高峰，待核对工单和回访记录。"
    move(row, CapaStatus.ANALYSING, opened + dt.timedelta(hours=1))


# --- Entry point -----------------------------------------------------------------------------------------

STEPS = ("follow-ups and surveys", "complaints", "suggestions and CAPA", "insert")


def progress_total() -> int:
    return len(STEPS)


def seed_feedback(
    *,
    rng: random.Random,
    stores: list[Store],
    users: dict[str, Any],
    today: dt.date,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = lambda step: None,
) -> dict[str, int]:
    """The voice of the customer for the seeded service history; returns counts by kind."""
    if now is None:
        now = _local(today, dt.time(11, 0))  # as the service demo lays out a fixed --today
    instrument = services.survey_instrument_default()
    items = list(instrument.items.order_by("position", "id"))
    contexts = _contexts(stores)
    demo = FeedbackDemo(rng=rng, now=now, contexts=contexts, items=items)
    for pk, customer_id, granted, decided in Consent.objects.filter(
        customer__store__in=stores, purpose=ConsentPurpose.SURVEYS
    ).values_list("pk", "customer_id", "granted", "decided_at"):
        row = Consent(pk=pk, customer_id=customer_id, granted=granted, decided_at=decided)
        demo.consent_rows[customer_id] = row
        demo.consent_since[customer_id] = decided if granted else None

    visits = _visits(stores)
    _moods(demo, visits)
    first = contexts[stores[0].pk] if stores else None
    scripts = _scripted_recovery(demo, visits, first.store, getattr(users.get("advisor"), "pk", None)) if first else {}
    # The latest deliveries of each store are still waiting in the agents' queue, whatever the random history gave.
    latest: dict[int, list[Visit]] = {}
    for visit in sorted(visits, key=lambda v: v.delivered, reverse=True):
        if visit.pk not in scripts and len(latest.setdefault(visit.store_id, [])) < 2:
            latest[visit.store_id].append(visit)
    queued = {v.pk for store_visits in latest.values() for v in store_visits}
    for visit in visits:
        demo.follow_up(visit, scripts.get(visit.pk), queued=visit.pk in queued)
    progress("follow-ups")
    _history_complaints(demo, visits, skip=set(scripts))
    if first is not None:
        _live_complaints(demo, visits, first, users)
    progress("complaints")
    if first is not None:
        _suggestions(demo, visits, first, users)
        _capas(demo, first, users)
    progress("suggestions")
    _insert(demo)
    progress("insert")
    built = demo.built
    return {
        "follow_ups": len(built.follow_ups),
        "responses": len(built.responses),
        "recovery": len(built.recovery),
        "complaints": len(built.complaints),
        "suggestions": len(built.suggestions),
        "capas": len(built.capas),
    }


def _insert(demo: FeedbackDemo) -> None:
    built = demo.built
    # Rows whose times were set later than when they were built (a response answers, a task closes) keep the
    # order in which the services would have numbered them.
    built.responses.sort(key=lambda r: r.submitted_at)
    built.attempts.sort(key=lambda a: a.at)
    built.recovery.sort(key=lambda t: t.opened_at)
    built.complaints.sort(key=lambda c: (c.logged_at, c.received_at))
    built.complaint_events.sort(key=lambda e: e.at)
    built.escalations.sort(key=lambda e: e.at)
    steps: Iterable[tuple[type, list[Any]]] = (
        (Consent, built.consents_new),
        (ConsentEvent, built.consent_events),
        (SurveyResponse, built.responses),
        (SurveyAnswer, built.answers),
        (FollowUp, built.follow_ups),
        (CallAttempt, built.attempts),
        (RecoveryTask, built.recovery),
        (Complaint, built.complaints),
        (ComplaintEvent, built.complaint_events),
        (ComplaintTransfer, built.transfers),
        (ComplaintEscalation, built.escalations),
        (Suggestion, built.suggestions),
        (Capa, built.capas),
        (CapaAction, built.capa_actions),
        (CapaEvent, built.capa_events),
    )
    models = []
    for model, rows in steps:
        fast_insert(model, rows)
        models.append(model)
    if built.consents_changed:
        for row in built.consents_changed:
            row.updated_at = row.decided_at
        Consent.objects.bulk_update(
            built.consents_changed, ["granted", "notice_version", "channel", "decided_at", "updated_at"], batch_size=500
        )
    reset = connection.ops.sequence_reset_sql(no_style(), models)
    if reset:
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)


def flush_feedback() -> None:
    """Delete every feedback record (the seed's --flush), children first.  The survey instrument stays: it is
    configuration, not demo data."""
    for model in (
        CapaEvent,
        CapaAction,
        Capa,
        ComplaintEscalation,
        ComplaintTransfer,
        ComplaintEvent,
        Complaint,
        Suggestion,
        RecoveryTask,
        CallAttempt,
        FollowUp,
        SurveyAnswer,
        SurveyResponse,
    ):
        model.objects.all().delete()
