"""The outbox message lifecycle as data: which status may follow which.

pending ──claim──▶ sending ──▶ sent
   │                  │  ├───▶ pending (retry later, with backoff)
   │                  │  └───▶ failed  (permanent error, or the last attempt failed)
   │                  ├──────▶ sending (a worker died mid-send; its claim expired and another worker takes it over)
   │                  └──────▶ suppressed (consent withdrawn before a taken-over message went out)
   └──▶ suppressed (consent missing or withdrawn, no address); also the status a message may be *created* with.
"""

from __future__ import annotations

from aftersales.messaging.choices import MessageStatus as S

OUTBOX_FLOW: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.SENDING, S.SUPPRESSED}),
    S.SENDING: frozenset({S.SENT, S.PENDING, S.FAILED, S.SENDING, S.SUPPRESSED}),
    S.SENT: frozenset(),
    S.FAILED: frozenset(),
    S.SUPPRESSED: frozenset(),
}


def can_move(old: S | str, new: S | str) -> bool:
    return S(new) in OUTBOX_FLOW[S(old)]
