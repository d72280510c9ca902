"""The store-scoping helper: every store-scoped query in a page, an API handler or a task goes through here.

`core` cannot know how users relate to stores (that lives in `organisation`, a layer above), so the
organisation app registers a *resolver* at start-up: a function from a user to the set of store ids the
user may see.  Querysets then narrow themselves with `for_user(user)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Self, TypeVar

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.http import Http404
from django.utils import timezone

_M = TypeVar("_M", bound=models.Model)
StoreResolver = Callable[[Any], frozenset[int]]
_resolver: StoreResolver | None = None
_CACHE_ATTR = "_aftersales_visible_store_ids"
_CAPABILITY_CACHE_ATTR = "_aftersales_capability_store_ids"
_resolver_cache_attrs: tuple[str, ...] = ()  # where the resolvers keep their own per-user caches


CapabilityResolver = Callable[[Any, str], frozenset[int]]
_capability_resolver: CapabilityResolver | None = None


def register_store_resolver(
    resolver: StoreResolver, capability_resolver: CapabilityResolver | None = None, cache_attrs: tuple[str, ...] = ()
) -> None:
    """`resolver`: user → the stores they may see; `capability_resolver`: (user, capability) → the stores where
    they hold that capability (registered by `organisation`, which knows roles); `cache_attrs`: the attributes
    where they cache on the user object, forgotten with ours."""
    global _resolver, _capability_resolver, _resolver_cache_attrs  # noqa: PLW0603 - set once at app start-up
    _resolver = resolver
    _resolver_cache_attrs = tuple(cache_attrs)
    if capability_resolver is not None:
        _capability_resolver = capability_resolver


def store_ids_where(user: Any, capability: str | None = None) -> frozenset[int]:
    """The stores where `user` holds `capability` (every visible store when it is None); cached per request."""
    visible = visible_store_ids(user)
    if capability is None or not visible:
        return visible
    cache: dict[str, frozenset[int]] = getattr(user, _CAPABILITY_CACHE_ATTR, None) or {}
    if capability not in cache:
        if _capability_resolver is None:
            raise ImproperlyConfigured("No capability resolver registered; is aftersales.organisation installed?")
        cache[capability] = _capability_resolver(user, capability) & visible
        setattr(user, _CAPABILITY_CACHE_ATTR, cache)
    return cache[capability]


def visible_store_ids(user: Any) -> frozenset[int]:
    """The ids of the stores `user` may see, computed once per user object (one request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if _resolver is None:
        raise ImproperlyConfigured("No store resolver registered; is aftersales.organisation installed?")
    ids = _resolver(user)
    setattr(user, _CACHE_ATTR, ids)
    return ids


def forget_visible_stores(user: Any) -> None:
    """Drop the per-user cache (after a membership change)."""
    for attr in (_CACHE_ATTR, _CAPABILITY_CACHE_ATTR, *_resolver_cache_attrs):
        if hasattr(user, attr):
            delattr(user, attr)


class ScopedQuerySet(models.QuerySet[_M]):
    """A queryset that knows the lookup from its model to a store id (`Model.store_lookup`)."""

    def update(self, **kwargs: Any) -> int:
        """A bulk update is a change too: it moves `updated_at` (which Django's auto_now leaves alone outside
        save()), so an integrator syncing with `updated_since` never misses a status set this way."""
        if "updated_at" not in kwargs and any(
            f.name == "updated_at" and getattr(f, "auto_now", False) for f in self.model._meta.concrete_fields
        ):
            kwargs["updated_at"] = timezone.now()
        return super().update(**kwargs)

    def _store_lookup(self) -> str:
        lookup = getattr(self.model, "store_lookup", None)
        if not lookup:
            raise ImproperlyConfigured(f"{self.model.__name__} has no store_lookup")
        return lookup

    def for_stores(self, store_ids: Iterable[int]) -> Self:
        condition = {f"{self._store_lookup()}__in": list(store_ids)}
        if getattr(self.model, "store_lookup_many", False):
            # The lookup crosses a to-many relation (a group customer linked to several stores): a subquery keeps
            # each row once and leaves the outer query free to be ordered, counted and paginated.
            matching = self.model._base_manager.filter(**condition).values("pk")
            return self.filter(pk__in=matching)
        return self.filter(**condition)

    def for_user(self, user: Any, capability: str | None = None, *, store_ids: Iterable[int] | None = None) -> Self:
        """Only rows of stores where the user holds `capability` (of every store they belong to when it is None);
        optionally narrowed further to `store_ids`."""
        allowed = store_ids_where(user, capability)
        if store_ids is not None:
            allowed = allowed & frozenset(store_ids)
        return self.for_stores(allowed)

    def get_for_user_or_404(self, user: Any, capability: str | None = None, **lookup: Any) -> _M:
        """One row of a store where the user holds `capability` (or belongs, when None); anything else is 404,
        exactly like a missing row."""
        try:
            return self.for_user(user, capability).get(**lookup)
        except (ObjectDoesNotExist, ValueError, TypeError) as exc:
            raise Http404(f"No {self.model._meta.verbose_name} matches the given query.") from exc
