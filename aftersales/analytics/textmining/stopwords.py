"""Words too common to say anything about a problem, for the emerging-terms list (single characters are
dropped separately).  Kept short and domain-aware: 服务 and 保养 are in nearly every comment; 满意 and 希望 are
sentiment or request words, not topics."""

from __future__ import annotations

STOP_WORDS: frozenset[str] = frozenset(
    """
    一个 一下 一些 一点 一直 一次 一样 一起 上次 下次 这次 每次 今天 昨天 现在 时候 之前 之后 以后 以前 已经
    我们 你们 他们 她们 自己 大家 这个 那个 这些 那些 这样 那样 这么 那么 怎么 什么 为什么 哪里 哪些 还是
    就是 但是 可是 不过 然后 结果 而且 并且 所以 因为 虽然 如果 还有 或者 以及 比较 非常 特别 真的 有点 有些
    感觉 觉得 认为 表示 反映 希望 建议 可以 可能 应该 需要 没有 不是 不会 不能 能够 还要 已经 其他 其它
    客户 顾客 本人 服务 保养 维修 车子 车辆 店里 这里 那里 问题 情况 时间 地方 东西 事情 满意 不错 挺好
    很好 谢谢 感谢 回访 记录 投诉 已经 目前 当时 期间 整体 总体 全程 一切 正常 继续 保持 下次 暂无 意见
    the and for with was were are this that you your our not but very have has had they them from
    """.split()
)
