"""The project's WSGI application plus one extra route for the benchmark: the floor of this stack.

`/__floor__/<pk>/` is a bare Django view doing one indexed primary-key query, served through the same
middleware by the same gunicorn workers as the hot paths, so their throughput can be read as a share of it.
Only `benchmarks/hot_paths.py` serves this module (`benchmarks.floor_app:application`); the project's own
URLconf gains no route.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.config.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

from aftersales.config import urls as project_urls  # noqa: E402
from aftersales.service.models import RepairOrder  # noqa: E402


@login_not_required
def floor(request: HttpRequest, pk: int) -> HttpResponse:
    number = RepairOrder.objects.filter(pk=pk).values_list("number", flat=True).first()
    return HttpResponse(number or "-", content_type="text/plain")


project_urls.urlpatterns.append(path("__floor__/<int:pk>/", floor, name="benchmark-floor"))
clear_url_caches()
