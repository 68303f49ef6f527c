"""The client's address: for the bad-link rate limit, and as a valid IP for records
that need one (audit log, login lockout)."""

from __future__ import annotations

import ipaddress
from typing import cast

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address; behind TRUSTED_PROXY_COUNT proxies, from X-Forwarded-For."""
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = cast(str, request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [hop.strip() for hop in forwarded.split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            return hops[-proxies]
    return cast(str, request.META.get("REMOTE_ADDR", "unknown"))


def client_ip(request: HttpRequest) -> str | None:
    """client_address as a valid IP address; None when unknown."""
    try:
        return str(ipaddress.ip_address(client_address(request)))
    except ValueError:
        return None
