"""The audience filter of a campaign: what it may say, how it is cleaned (errors keyed by field), and the
deterministic arm of each member.

Stored on `Campaign.audience` as JSON with these keys (all optional; an empty filter is every customer of the
store): `tiers` (list of A/B/C/D), `nev` ("nev" | "non_nev" | ""), `model_contains`, `last_visit_from` /
`last_visit_to` (ISO dates of the last delivered visit), `mileage_min` / `mileage_max` (km, of one vehicle),
`open_deferred` (true: has declined work still open)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from aftersales.campaigns.choices import Arm
from aftersales.core.text import refuse_control_characters
from aftersales.customers.choices import Tier

NEV_CHOICES = ("", "nev", "non_nev")
MAX_KM = 2_000_000
ARM_SALT = "aftersales.campaigns.arm"


@dataclass(frozen=True)
class AudienceFilter:
    tiers: tuple[str, ...] = ()
    nev: str = ""
    model_contains: str = ""
    last_visit_from: dt.date | None = None
    last_visit_to: dt.date | None = None
    mileage_min: int | None = None
    mileage_max: int | None = None
    open_deferred: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data["tiers"] = list(self.tiers)
        for key in ("last_visit_from", "last_visit_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @property
    def is_empty(self) -> bool:
        return self == AudienceFilter()


def _date(raw: Any, key: str, errors: dict[str, list[str]]) -> dt.date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        errors.setdefault(key, []).append(_("Enter a date as YYYY-MM-DD."))
        return None


def _km(raw: Any, key: str, errors: dict[str, list[str]]) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors.setdefault(key, []).append(_("Enter a whole number of kilometres."))
        return None
    if not 0 <= value <= MAX_KM:
        errors.setdefault(key, []).append(_("Enter a mileage between 0 and 2,000,000 km."))
        return None
    return value


def audience_clean(raw: dict[str, Any] | None) -> AudienceFilter:
    """The filter from its JSON or form data; a ValidationError keyed by the field otherwise."""
    raw = dict(raw or {})
    errors: dict[str, list[str]] = {}
    tiers_raw = raw.get("tiers") or []
    if isinstance(tiers_raw, str):
        tiers_raw = [tiers_raw]
    tiers = tuple(sorted({str(t) for t in tiers_raw}))
    if any(t not in Tier.values for t in tiers):
        errors["tiers"] = [_("Choose tiers among A, B, C and D.")]
    nev = str(raw.get("nev") or "")
    if nev not in NEV_CHOICES:
        errors["nev"] = [_("Choose NEV, non-NEV or any.")]
    model = " ".join(str(raw.get("model_contains") or "").split())
    if len(model) > 60:
        errors["model_contains"] = [_("Too long (at most 60 characters).")]
    else:
        try:
            refuse_control_characters(model_contains=model)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    since = _date(raw.get("last_visit_from"), "last_visit_from", errors)
    until = _date(raw.get("last_visit_to"), "last_visit_to", errors)
    if since and until and since > until:
        errors.setdefault("last_visit_to", []).append(_("The end of the range is before its start."))
    low = _km(raw.get("mileage_min"), "mileage_min", errors)
    high = _km(raw.get("mileage_max"), "mileage_max", errors)
    if low is not None and high is not None and low > high:
        errors.setdefault("mileage_max", []).append(_("The end of the range is below its start."))
    deferred = raw.get("open_deferred") in (True, "true", "on", "1", 1)
    if errors:
        raise ValidationError(errors)
    return AudienceFilter(
        tiers=tiers,
        nev=nev,
        model_contains=model,
        last_visit_from=since,
        last_visit_to=until,
        mileage_min=low,
        mileage_max=high,
        open_deferred=deferred,
    )


def arm_for(*, campaign_id: int, customer_id: int, control_percent: int) -> str:
    """The member's arm, from a hash seeded with the campaign: the same campaign and customer always land in the
    same arm (a rerun, a restarted worker, the preview and the sending all agree), and the arms of one customer
    in two campaigns are independent.  Control when the hash's first 8 bytes, mod 10 000, fall below the share."""
    digest = hashlib.sha256(f"{ARM_SALT}:{campaign_id}:{customer_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return Arm.CONTROL if bucket < control_percent * 100 else Arm.TREATMENT
