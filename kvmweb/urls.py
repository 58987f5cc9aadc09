from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from consoles.api.views import ConsoleSessionViewSet, ConsoleTicketView
from drift.api.views import DriftViewSet
from hostnet.api.views import HostNetworkViewSet
from hosts.api.views import HostViewSet
from teams.api.views import TeamViewSet, UserViewSet
from teams.forms import ThrottledAuthenticationForm
from networks.api.views import NetworkViewSet
from operations.api.views import OperationViewSet
from reachability.api.views import ProbeViewSet, ReachabilityView
from topology.api.views import TopologyViewSet
from vms.api.views import VMViewSet

router = DefaultRouter()
router.register("hosts", HostViewSet, basename="host")
router.register("operations", OperationViewSet, basename="operation")
router.register("networks", NetworkViewSet, basename="network")
router.register("vms", VMViewSet, basename="vm")
router.register("hostnet", HostNetworkViewSet, basename="hostnet")
router.register("consoles/sessions", ConsoleSessionViewSet, basename="console-session")
router.register("topology", TopologyViewSet, basename="topology")
router.register("drift", DriftViewSet, basename="drift")
router.register("reachability/probes", ProbeViewSet, basename="reachability-probe")
router.register("teams", TeamViewSet, basename="team")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="hosts:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("hosts/", include("hosts.urls")),
    path("operations/", include("operations.urls")),
    path("networks/", include("networks.urls")),
    path("vms/", include("vms.urls")),
    path("hostnet/", include("hostnet.urls")),
    path("teams/", include("teams.urls")),
    path("consoles/", include("consoles.urls")),
    path("reachability/", include("reachability.urls")),
    path("api/consoles/tickets/", ConsoleTicketView.as_view(), name="console-ticket"),
    path("api/reachability/", ReachabilityView.as_view(), name="reachability-api"),
    path("topology/", include("topology.urls")),
    path("drift/", include("drift.urls")),
    path("api/", include((router.urls, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("health.urls")),  # /healthz, /readyz, /metrics
]


def not_found(request, exception):
    """API clients get JSON for an unknown URL too (as the schema documents), pages get HTML."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
