"""Template helpers of the rights-request pages: a field's errors, whether the user may log requests."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join

from aftersales.organisation.access import can
from aftersales.organisation.permissions import Capability

register = template.Library()


@register.simple_tag
def field_errors(errors: dict[str, list[str]], field: str) -> str:
    return format_html_join(
        "",
        '<div class="invalid-feedback d-block" data-error-for="{}">{}</div>',
        ((field, e) for e in errors.get(field, [])),
    )


@register.filter
def may_log_rights_requests(user: Any) -> bool:
    return can(user, Capability.LOG_RIGHTS_REQUESTS)
