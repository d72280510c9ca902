"""The e-health submission's lifecycle as data: which status may follow which.

pending ──claim──▶ sending ──▶ accepted (the remote record id)
retrying ─claim─▶     │  ├───▶ rejected (the province's reason; a person corrects the order and resends)
                      │  ├───▶ retrying (no answer, 5xx, a token refused twice: again after the outbox's backoff)
                      │  ├───▶ failed   (the last attempt failed)
                      │  └───▶ sending  (a worker died mid-send; its claim expired and another worker takes it over)
rejected, failed ──resend──▶ pending (a manager's action, audited)
"""

from __future__ import annotations

from aftersales.ehr.choices import SubmissionStatus as S

SUBMISSION_FLOW: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.SENDING}),
    S.RETRYING: frozenset({S.SENDING}),
    S.SENDING: frozenset({S.ACCEPTED, S.REJECTED, S.RETRYING, S.FAILED, S.SENDING}),
    S.ACCEPTED: frozenset(),
    S.REJECTED: frozenset({S.PENDING}),
    S.FAILED: frozenset({S.PENDING}),
}
RESENDABLE = frozenset({S.REJECTED, S.FAILED})


def can_move(old: S | str, new: S | str) -> bool:
    return S(new) in SUBMISSION_FLOW[S(old)]


def submission_moves_for(*, obj: object, user: object) -> list[str]:
    """What a page may offer on a submission: "resend" when it was rejected or gave up (the capability is checked
    by the view and again by the service)."""
    return ["resend"] if getattr(obj, "status", "") in RESENDABLE else []
