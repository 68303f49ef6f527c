"""The client's IP address for records that need a valid one (audit log, login lockout)."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from aftercare.ratelimit import client_address


def client_ip(request: HttpRequest) -> str | None:
    """As aftercare.ratelimit sees it (TRUSTED_PROXY_COUNT aware); None when unknown."""
    try:
        return str(ipaddress.ip_address(client_address(request)))
    except ValueError:
        return None
