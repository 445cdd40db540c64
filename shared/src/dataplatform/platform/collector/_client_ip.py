"""The client IP address an event records, kept whole, truncated or not at all (`client_ip`).

The address is the one the SDK sent (`context.ip`, PostHog's `$ip`: a server SDK speaking for a
browser), else the connection's. The connection is the peer, or the client a trusted proxy
names in `X-Forwarded-For`: uvicorn's `ProxyHeadersMiddleware` has already rewritten it by then.
"""

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import HTTPConnection

IpPolicy = Literal["full", "truncated", "none"]
_KEPT_PREFIX = {4: 24, 6: 48}


def recorded_address(address: str, policy: IpPolicy) -> str | None:
    """`address` as `policy` keeps it; None when nothing is kept (or it is no IP address)."""
    if policy == "none":
        return None
    if policy == "full":
        return address
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None  # not an address: truncating it could still leak what it is
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    network = ipaddress.ip_network(f"{ip}/{_KEPT_PREFIX[ip.version]}", strict=False)
    return str(network.network_address)


@dataclass(frozen=True, slots=True)
class ClientIp:
    """One request's rule: the connection's address as recorded, and the policy for sent ones."""

    policy: IpPolicy
    connection: str | None

    @classmethod
    def of(cls, request: HTTPConnection, policy: IpPolicy) -> "ClientIp":
        """The rule for `request`, its connection's address already reduced by `policy`."""
        host = request.client.host if request.client else None
        return cls(policy, recorded_address(host, policy) if host else None)

    def record(self, sent: Any) -> str | None:
        """The address to record for an item that sent `sent` (None or "" when it sent none)."""
        if sent is None or sent == "":
            return self.connection
        return recorded_address(str(sent), self.policy)
