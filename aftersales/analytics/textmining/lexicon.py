"""The issue lexicon: which words and patterns raise which issue, in data a store can extend.

An issue has a code, a Chinese and an English label, and:

- ``terms``: literal phrases (matched as substrings of a clause, case-insensitively);
- ``patterns``: regular expressions for phrasings with a gap (``休息区…小``, ``等了…个小时``).  A pattern may name
  a group ``core``: negation is then looked for just before the core rather than before the whole match, so
  ``休息区不算小`` is negated while ``休息区太小`` is not;
- ``exclude``: words that contain a trigger without meaning the issue (``贵店`` is "your store", ``慢慢`` is
  "gradually"); a match that overlaps one of them is ignored;
- ``resolvers``: praise of the same aspect (``值得``, ``合理`` for price); after a contrast (``虽然有点贵，但是值得``)
  they cancel a hit in the conceded part.

The default lexicon below is plain data; ``Lexicon.from_dict`` reads the same shape from JSON, and
``Lexicon.extended`` merges a store's additions (new issues, or more terms for an existing code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_LEXICON", "DEFAULT_LEXICON_DATA", "IssueDefinition", "Lexicon", "LexiconError"]


class LexiconError(ValueError):
    """The lexicon data is malformed (missing code, bad regular expression, …)."""


@dataclass(frozen=True)
class IssueDefinition:
    code: str
    label_zh: str
    label_en: str
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    resolvers: tuple[str, ...] = ()
    matcher: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.code):
            raise LexiconError(f"issue code {self.code!r} must be lower-case letters, digits and _")
        if not self.terms and not self.patterns:
            raise LexiconError(f"issue {self.code!r} has no terms or patterns")
        literal = sorted({t for t in self.terms if t}, key=len, reverse=True)
        alternatives = []
        for number, pattern in enumerate(self.patterns):
            try:
                re.compile(pattern)
            except re.error as error:
                raise LexiconError(f"issue {self.code!r}: bad pattern {pattern!r} ({error})") from error
            # each pattern may name its own ``core``; in the combined expression the names must differ
            alternatives.append("(?:" + pattern.replace("(?P<core>", f"(?P<core{number}>") + ")")
        alternatives += [re.escape(t) for t in literal]
        matcher = re.compile("|".join(alternatives), re.IGNORECASE)
        object.__setattr__(self, "matcher", matcher)

    def label(self, language: str) -> str:
        return self.label_zh if language.lower().startswith("zh") else self.label_en

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "terms": list(self.terms),
            "patterns": list(self.patterns),
            "exclude": list(self.exclude),
            "resolvers": list(self.resolvers),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IssueDefinition:
        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key, ())
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise LexiconError(f"issue {data.get('code')!r}: {key} must be a list of strings")
            return tuple(value)

        try:
            code, label_zh, label_en = str(data["code"]), str(data["label_zh"]), str(data["label_en"])
        except KeyError as missing:
            raise LexiconError(f"an issue lacks {missing}") from None
        return cls(
            code=code,
            label_zh=label_zh,
            label_en=label_en,
            terms=strings("terms"),
            patterns=strings("patterns"),
            exclude=strings("exclude"),
            resolvers=strings("resolvers"),
        )


class Lexicon:
    """An ordered set of issue definitions, keyed by code."""

    def __init__(self, issues: Iterable[IssueDefinition]) -> None:
        self._issues: dict[str, IssueDefinition] = {}
        for issue in issues:
            if issue.code in self._issues:
                raise LexiconError(f"issue code {issue.code!r} appears twice")
            self._issues[issue.code] = issue

    @property
    def issues(self) -> tuple[IssueDefinition, ...]:
        return tuple(self._issues.values())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._issues)

    def __getitem__(self, code: str) -> IssueDefinition:
        return self._issues[code]

    def __contains__(self, code: object) -> bool:
        return code in self._issues

    def to_list(self) -> list[dict[str, Any]]:
        return [issue.to_dict() for issue in self._issues.values()]

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]]) -> Lexicon:
        """Read a list of issues in the shape of ``DEFAULT_LEXICON_DATA`` (as loaded from JSON)."""
        if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
            raise LexiconError("a lexicon is a list of issues")
        return cls(IssueDefinition.from_dict(item) for item in data)

    def extended(self, additions: Sequence[Mapping[str, Any]]) -> Lexicon:
        """This lexicon plus a store's additions: a known code gets the extra terms, patterns, excludes and
        resolvers (its labels may be overridden); an unknown code is a new issue and needs both labels."""
        merged = {code: issue.to_dict() for code, issue in self._issues.items()}
        for addition in additions:
            code = str(addition.get("code", ""))
            if code in merged:
                current = merged[code]
                for key in ("terms", "patterns", "exclude", "resolvers"):
                    extra = [v for v in addition.get(key, ()) if v not in current[key]]
                    current[key] = current[key] + extra
                for key in ("label_zh", "label_en"):
                    if addition.get(key):
                        current[key] = str(addition[key])
            else:
                merged[code] = dict(addition)
        return Lexicon.from_dict(list(merged.values()))


# Character class for "anything inside the clause" in patterns (clauses are already cut at punctuation).
_NUM = "[一二两三四五六七八九十几半\\d]+"
_LONG = f"(?:{_NUM}个?多?半?(?:小时|钟头|天|周|星期|礼拜|个月|月)|(?:[二三四五六七八九]十|[2-9]\\d|\\d{{3,}})多?分钟)"

DEFAULT_LEXICON_DATA: list[dict[str, Any]] = [
    {
        "code": "waiting_long",
        "label_zh": "等待时间长",
        "label_en": "Long wait",
        "terms": [
            "等太久",
            "等了很久",
            "等很久",
            "等了好久",
            "等了半天",
            "等半天",
            "慢",
            "效率低",
            "效率太低",
            "耽误时间",
            "太耽误",
            "拖延",
            "延误",
            "延迟",
            "拖到",
            "还要等",
            "还得等",
            "缩短等待",
            "排长队",
            "waited too long",
            "long wait",
            "too slow",
            "took forever",
        ],
        "patterns": [
            f"等(?:了|候了|待了)?(?:快|近|将近|足足|整整|差不多|了)?{_LONG}",
            "等(?:了|得|的)?(?:太|很|好|这么|那么|挺|比较|特别|非常)+久",
            "排了?[^，,]{0,6}?队|(?P<core>排队)",
            f"(?:花|用|弄|搞|耗|折腾)了?(?:快|近|将近|足足)?(?:半天|一上午|一下午|一整天|{_NUM}个?多?(?:小时|钟头|天))",
            "(?:要|得)(?:等)?(?:半天|一上午|一下午|一整天)",
            "(?:等待|等候|等|维修|修车|保养|排队)的?时间[^，,]{0,4}?(?P<core>长|久)",
            f"(?:放|停|扔|压)了?(?:快|近|将近|足足)?{_NUM}个?多?(?:天|周|星期|礼拜|月)",
            "(?:能不能|希望|建议|请|麻烦|能否)[^，,]{0,6}快(?:一)?点",
        ],
        "exclude": ["慢慢", "怠慢", "傲慢", "慢性", "慢走"],
        "resolvers": ["很快", "挺快", "速度快", "效率高", "及时", "没等多久", "不用等", "不用排队", "准时"],
    },
    {
        "code": "price_high",
        "label_zh": "价格偏高",
        "label_en": "Price too high",
        "terms": [
            "贵",
            "乱收费",
            "收费高",
            "收费太高",
            "价格不透明",
            "收费不透明",
            "不便宜",
            "偏高",
            "离谱",
            "宰客",
            "坑钱",
            "坑人",
            "黑心",
            "多收",
            "多算",
            "涨价",
            "涨了",
            "too expensive",
            "overcharged",
            "overpriced",
        ],
        "patterns": [
            "(?:价格|价钱|收费|费用|工时费|配件费|报价|价)[^，,]{0,6}?(?P<core>高|黑|离谱|不透明|不合理|虚高)",
            "(?:降低|下调|降一降)[^，,]{0,3}(?:价格|收费|工时费|费用)",
            "(?:希望|建议)[^，,]{0,4}(?:优惠|便宜|打折)",
            "多了[^，,]{0,3}项",
            "(?:比|超)[^，,]{0,6}(?:预估|报价|预算|估价)[^，,]{0,2}(?:多|高|贵)",
            "(?:报价|预估|估价|结算)[^，,]{0,8}(?:差了|不一致|不符|对不上)",
        ],
        "exclude": ["贵店", "贵司", "贵公司", "贵方", "宝贵", "珍贵", "贵宾", "尊贵", "名贵", "贵重", "富贵", "贵姓"],
        "resolvers": ["值得", "值", "物有所值", "合理", "实惠", "划算", "便宜", "透明", "能接受", "可以接受"],
    },
    {
        "code": "attitude",
        "label_zh": "服务态度差",
        "label_en": "Poor attitude",
        "terms": [
            "不耐烦",
            "爱答不理",
            "爱理不理",
            "没人理",
            "不理人",
            "冷淡",
            "冷漠",
            "傲慢",
            "怠慢",
            "敷衍",
            "没礼貌",
            "不礼貌",
            "推卸责任",
            "踢皮球",
            "玩手机",
            "直接挂",
            "晾在一边",
            "甩脸色",
            "不受重视",
            "不尊重",
            "言语不当",
            "rude",
            "impatient",
            "ignored us",
            "ignored me",
        ],
        "patterns": [
            "态度[^，,]{0,4}?(?P<core>差|不好|恶劣|一般|不行|生硬|不端正)",
            "态度[^，,]{0,3}好一点",
            "礼貌[^，,]{0,2}没有",
            "说话[^，,]{0,2}(?P<core>冲|难听|不客气)",
        ],
        "resolvers": ["热情", "耐心", "客气", "周到", "礼貌", "态度好", "态度很好", "态度挺好"],
    },
    {
        "code": "explanation_unclear",
        "label_zh": "解释不清",
        "label_en": "Unclear explanation",
        "terms": [
            "没解释",
            "没有解释",
            "没人解释",
            "不解释",
            "解释不清",
            "解释不了",
            "说不清楚",
            "说不清",
            "讲不清楚",
            "不明白为什么",
            "不知道为什么",
            "不清楚为什么",
            "看不懂",
            "没人讲",
            "没讲",
            "没有说明",
            "没说明",
            "没给个说法",
            "没个说法",
            "没有说法",
            "not explained",
            "no explanation",
            "didn't explain",
        ],
        "patterns": [
            "(?:希望|建议|请|能不能)[^，,]{0,10}(?:讲|说|解释|说明)清楚",
            "不清楚[^，,]{0,3}(?:换|做|修)了",
        ],
        "resolvers": ["清楚", "明白", "明明白白", "一听就懂", "讲解", "详细"],
    },
    {
        "code": "parts",
        "label_zh": "配件缺货",
        "label_en": "Parts unavailable",
        "terms": [
            "缺件",
            "缺货",
            "缺配件",
            "配件没货",
            "没货",
            "没有货",
            "没有库存",
            "没库存",
            "无库存",
            "等配件",
            "等件",
            "调货",
            "从厂家调",
            "订货",
            "没到货",
            "未到货",
            "到货太慢",
            "到货慢",
            "配件不全",
            "型号不对",
            "发错件",
            "out of stock",
            "waiting for parts",
        ],
        "patterns": ["(?:配件|件)[^，,]{0,3}(?:多备|备足|备货)|(?:多备|备足)[^，,]{0,3}(?:配件|件)"],
        "resolvers": ["齐全", "现货", "有货", "备货充足"],
    },
    {
        "code": "environment",
        "label_zh": "环境设施",
        "label_en": "Premises and facilities",
        "terms": [
            "没地方坐",
            "没座位",
            "脏",
            "乱糟糟",
            "停车难",
            "找不到地方停",
            "找不到车位",
            "dirty",
            "noisy",
        ],
        "patterns": [
            "(?:休息区|休息室|客休区|客休|等候区|洗手间|卫生间|厕所|展厅|大厅|车间|环境|地面|地上|停车场|车位|"
            "停车位|沙发|座位|椅子|空调)[^，,]{0,6}?(?P<core>小|挤|脏|乱|吵|太热|热得|太冷|冷得|不制冷|旧|破|少|"
            "不够|难|不舒服|差|臭|油|不干净)",
            "没有?(?:地方坐|座位|WiFi|wifi|无线网|网络|充电桩|停车位|车位|饮料|水喝)",
            "(?:希望|建议)[^，,]{0,4}(?:休息区|休息室|客休区|洗手间|卫生间|停车|座位|饮料)",
        ],
        "exclude": ["心脏", "弄脏", "搞脏", "脏了"],
        "resolvers": ["舒服", "干净", "整洁", "宽敞", "安静", "够用", "舒适"],
    },
    {
        "code": "repair_quality",
        "label_zh": "维修质量",
        "label_en": "Repair quality",
        "terms": [
            "没修好",
            "没有修好",
            "未修好",
            "没修复",
            "未解决",
            "没解决",
            "没有解决",
            "又坏",
            "又出现",
            "又亮",
            "又响",
            "又漏",
            "返修",
            "返工",
            "同样的问题",
            "一样的问题",
            "技术不行",
            "技术差",
            "查不出",
            "没装好",
            "装反",
            "加多了",
            "加少了",
            "色差",
            "not fixed",
            "still broken",
            "came back",
        ],
        "patterns": [
            "没(?:有)?(?:能)?把[^，,]{1,8}?(?:修好|解决|修复)",
            "(?:修完|换完|做完|保养完|修好|维修后|保养后|修了以后|换了以后|之后|以后)[^，,]{0,10}?"
            "(?P<core>异响|漏油|漏水|故障灯|不制冷|顿挫|抖|还是偏|跑偏|加多|加少|亮起)",
        ],
        "resolvers": ["修好", "解决", "一次修好", "彻底", "没再坏"],
    },
    {
        "code": "communication",
        "label_zh": "沟通不及时",
        "label_en": "Poor communication",
        "terms": [
            "没通知",
            "没有通知",
            "未通知",
            "没人通知",
            "不通知",
            "未收到通知",
            "没收到通知",
            "联系不上",
            "联系不到",
            "打不通",
            "没人接",
            "不接",
            "没回",
            "没人告知",
            "没告知",
            "未告知",
            "未提前告知",
            "没人告诉",
            "没告诉",
            "不主动联系",
            "沟通不畅",
            "no one called",
            "never called",
            "didn't call",
        ],
        "patterns": [
            "没(?:有)?提前[^，,]{0,4}(?:说|告知|通知|告诉|确认|沟通)",
            "没有?[^，,]{0,4}(?:反馈|回复|回音)",
            "才(?:通知|告知|告诉)",
            "(?:希望|建议|能不能|请)[^，,]{0,8}(?:及时|主动)[^，,]{0,2}(?:沟通|通知|告知|联系|反馈)",
        ],
        "exclude": ["不接受", "没回来"],
        "resolvers": ["及时", "通知我", "第一时间"],
    },
    {
        "code": "upsell",
        "label_zh": "过度推销",
        "label_en": "Pushy upselling",
        "terms": [
            "推销",
            "强制消费",
            "强行",
            "过度维修",
            "过度保养",
            "非要",
            "硬要",
            "捆绑",
            "一直推荐",
            "乱推荐",
            "私自加",
            "upsell",
            "pushy",
        ],
        "resolvers": ["没有推销", "该做的"],
    },
    {
        "code": "vehicle_care",
        "label_zh": "车辆照管",
        "label_en": "Care of the vehicle",
        "terms": [
            "弄脏",
            "搞脏",
            "油污",
            "划痕",
            "划了",
            "被划",
            "剐蹭",
            "刮花",
            "磕碰",
            "弄丢",
            "丢失",
            "烟味",
            "没洗干净",
            "洗得不干净",
            "泥点",
            "被调了",
            "没调回",
            "翻乱",
            "受损",
            "手印",
            "脚印",
            "scratched",
        ],
        "patterns": [
            "(?:东西|物品|记录仪|钥匙|脚垫|手机|雨伞|充电器|眼镜|现金|钱包|证件|行驶证|备胎|工具)[^，,]{0,3}"
            "(?:不见了|丢了|没了|找不到)",
            "(?:车身|车内|车里|车子|洗车|洗得)[^，,]{0,6}不干净",
        ],
        "resolvers": ["洗干净", "铺好", "保护", "贴心"],
    },
]

DEFAULT_LEXICON = Lexicon.from_dict(DEFAULT_LEXICON_DATA)
