from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
# Text format 0.0.4: what every Prometheus (2.x too) and other scrapers read.
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .access import may_monitor
from .collector import KvmwebCollector
from .readiness import readiness

REFUSED = "forbidden: send the metrics token, or ask from an address in KVMWEB_METRICS_ALLOW\n"


@login_not_required
@never_cache
def healthz(request):
    """The process is alive and serves requests (no database, no Redis)."""
    return HttpResponse("ok\n", content_type="text/plain")


@login_not_required
@never_cache
def readyz(request):
    if not may_monitor(request):
        return HttpResponse(REFUSED, status=403, content_type="text/plain")
    body = readiness()
    return JsonResponse(body, status=200 if body["ready"] else 503)


@login_not_required
@never_cache
def metrics(request):
    """django-prometheus's metrics of this web process, then kvmweb's own (health.collector)."""
    if not may_monitor(request):
        return HttpResponse(REFUSED, status=403, content_type="text/plain")
    ours = CollectorRegistry(auto_describe=False)
    ours.register(KvmwebCollector())
    return HttpResponse(generate_latest(REGISTRY) + generate_latest(ours),
                        content_type=CONTENT_TYPE_PLAIN_0_0_4)
