"""One way for pages and the API to check a role and to resolve what a request names: a store by its code, the
stores a list covers, a member of staff by id.  Every app's views and API handlers use these instead of keeping
their own copies, so a refusal reads the same everywhere and another store's record or person answers exactly
like a missing one (no existence oracle across stores)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from aftersales.core.scoping import store_ids_where
from aftersales.organisation.models import Membership, Store
from aftersales.organisation.permissions import Capability, user_can

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_V = TypeVar("_V", bound=Callable[..., Any])


def can(user: Any, *capabilities: Capability, store_id: int | None = None) -> bool:
    """Whether the user holds any of `capabilities` in the store (in any of their stores when store_id is None)."""
    return any(user_can(user, capability, store_id) for capability in capabilities)


def require(user: Any, *capabilities: Capability, store_id: int | None = None) -> None:
    """Refuse (403) unless the user holds one of `capabilities` in the store (or in any store)."""
    if not can(user, *capabilities, store_id=store_id):
        raise PermissionDenied(_("Your role may not do this."))


def capability_required(*capabilities: Capability) -> Callable[[_V], _V]:
    """Page decorator: the user must hold one of `capabilities` in at least one of their stores; the view then
    narrows to the record's store with `require(..., store_id=…)` or `Model.objects.for_user(user, capability)`."""

    def decorate(view: _V) -> _V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require(request.user, *capabilities)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def store_by_code(user: Any, code: str | None, *, field: str = "store", capability: Capability | None = None) -> Store:
    """A store the user may see (and act in, with `capability`) by its code; anything else is a 422 naming the
    field, the same for an unknown code and another group's store."""
    store = None
    if code and len(code) <= 16 and code.isprintable():  # PostgreSQL refuses NUL in a query
        store = Store.objects.filter(code=code, id__in=store_ids_where(user, capability)).first()
    if store is None:
        raise ValidationError({field: [_("No store with this code that you may see.")]})
    return store


def store_ids_for(
    user: Any, code: str | None = None, *, capability: Capability | None = None, field: str = "store"
) -> frozenset[int]:
    """The stores a list covers: the one named by `code`, or all of the user's (where they hold `capability`)."""
    if not code:
        return store_ids_where(user, capability)
    return frozenset({store_by_code(user, code, field=field, capability=capability).pk})


def staff_member(pk: int, *, store_id: int, field: str, roles: Iterable[str] | None = None) -> User:
    """A member of the store's staff (with one of `roles`) named by id in a request.  A missing id, another
    store's person and a colleague without the role all answer the same 422 naming the field."""
    group = Store.objects.filter(pk=store_id).values("group_id")
    members = Membership.objects.filter(Q(store_id=store_id) | Q(store__isnull=True, group_id__in=group))
    if roles is not None:
        members = members.filter(role__in=list(roles))
    user = (
        get_user_model()
        .objects.select_related("staff_profile")
        .filter(pk=pk, is_active=True, pk__in=members.values("user_id"))
        .first()
    )
    if user is None:
        raise ValidationError({field: [_("No member of this store's staff with this id can take this on.")]})
    return user
