"""Fixtures for the whole suite."""

import pytest

from aftersales.config.testing import make_cast


@pytest.fixture
def cast(db):
    return make_cast()


@pytest.fixture
def api_token(db):
    """A function: user → bearer header dict, through the real token service."""
    from aftersales.organisation.services import api_token_issue

    def issue(user):
        token, _record = api_token_issue(username=user.username)
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    return issue


@pytest.fixture(autouse=True)
def english_messages():
    """Tests assert on English texts; a request served in Chinese earlier must not leak its language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Rendered fragments are cached by content version; a rolled-back test must not leave one behind."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
