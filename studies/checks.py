"""System checks for deployment: rate limits kept in a per-process cache do not hold across web workers."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_rate_limit_cache(app_configs, **kwargs):
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith("LocMemCache") or backend.endswith("DummyCache"):
        return [
            Warning(
                "Sign-in and invitation rate limits are kept in a per-process cache.",
                hint="Set REDIS_URL so that every web process shares the same counters.",
                id="studies.W001",
            )
        ]
    return []
