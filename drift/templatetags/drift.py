"""{% drift_banner network %} / {% drift_banner vm %}: the object's open drift, if any, with
accept and re-apply for those who may change the object (pages of other apps use it without
importing this app)."""

from django import template

from ..access import can_decide
from ..services import open_drift

register = template.Library()


@register.inclusion_tag("drift/banner.html", takes_context=True)
def drift_banner(context, obj):
    target = getattr(obj, "target", "")
    if not str(target).startswith("network:"):
        target = f"domain:{obj.uuid}"
    drift = open_drift(obj.host_id, target)
    user = context["request"].user
    return {"drift": drift, "can_decide": bool(drift) and can_decide(user, drift),
            "csrf_token": context.get("csrf_token")}
