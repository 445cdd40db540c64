"""The platform's `AccessControl`: credentials, per-credential rate limits, PII tags, read audit.

Cache hits are answered on the event loop; only a miss goes to the metadata store, in a thread.
"""

import asyncio
import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from cachetools import TTLCache
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from dataplatform.core.access import Principal
from dataplatform.core.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitedError,
    extra_required,
)
from dataplatform.platform.audit import AuditWriter, request_entry
from dataplatform.platform.auth._keys import ApiKeys, looks_like_key
from dataplatform.platform.auth._tokens import Tokens
from dataplatform.platform.auth._users import Users

_PII_CACHE_SECONDS = 5.0
# The admin console's session: the access token, in an HttpOnly, SameSite=Strict cookie.
SESSION_COOKIE = "dp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    """A limit per key (credential or client address), counted in `storage`.

    A sliding-window counter: two counters a key, so the cost of a hit does not grow with the
    limit (a moving window keeps every hit's time, which at thousands a minute is slow).
    """

    def __init__(self, limit: str, storage: str) -> None:
        self.item: RateLimitItem = parse(limit)
        self._limiter = SlidingWindowCounterRateLimiter(_storage(storage))

    async def admit(self, key: str) -> None:
        """Count one request for `key`; `RateLimitedError` with the seconds to wait when over."""
        if await self._limiter.hit(self.item, key):
            return
        stats = await self._limiter.get_window_stats(self.item, key)
        retry_after = max(1, int(stats.reset_time - time.time() + 0.999))
        raise RateLimitedError(
            f"More than {self.item} requests; try again in {retry_after} s.", retry_after
        )


def _storage(uri: str) -> Any:
    """The counters' storage; Redis through redis-py, which `dataplatform[redis]` installs (limits
    would otherwise ask for coredis, which it does not)."""
    if uri.startswith("async+redis"):
        # Checked here: limits reports a missing redis-py without naming what to install.
        with extra_required(
            "redis", "Counting rate limits in Redis (`gateway.rate_limit_storage`)"
        ):
            importlib.import_module("redis")
        return storage_from_string(uri, implementation="redispy")
    return storage_from_string(uri)


class PlatformAccess:
    """Authenticates callers and records what they read."""

    def __init__(
        self,
        users: Users,
        keys: ApiKeys,
        tokens: Tokens,
        limiter: RateLimiter,
        audit: AuditWriter,
        pii_lookup: Callable[[str], frozenset[str]],
    ) -> None:
        self.users = users
        self.keys = keys
        self.tokens = tokens
        self.limiter = limiter
        self.audit = audit
        self._pii_lookup = pii_lookup
        self._pii: TTLCache[str, frozenset[str]] = TTLCache(10_000, _PII_CACHE_SECONDS)
        self._lookups: dict[str, asyncio.Future[Principal | None]] = {}

    async def authenticate(self, request: Request) -> Principal:
        credential = _credential(request, self.tokens)
        if looks_like_key(credential):
            principal = await self._cached_or_looked_up(
                self.keys.cached, self.keys.principal, credential
            )
            if principal is None:
                raise AuthenticationError("The API key is unknown, revoked or expired.")
        else:
            username = self.tokens.subject(credential)
            principal = await self._cached_or_looked_up(
                self.users.cached, self.users.principal, username
            )
            if principal is None:
                raise AuthenticationError(f"User `{username}` does not exist or is disabled.")
        await self.limiter.admit(principal.subject)
        return principal

    async def _cached_or_looked_up(
        self,
        cached: Callable[[str], Principal | None],
        lookup: Callable[[str], Principal | None],
        key: str,
    ) -> Principal | None:
        """The cache's answer, else one lookup in a thread, shared by every request that asks
        for the same key meanwhile (an expiry under load would otherwise start one each)."""
        try:
            return cached(key)
        except KeyError:
            pass
        pending = self._lookups.get(key)
        if pending is None:
            pending = asyncio.ensure_future(anyio.to_thread.run_sync(lookup, key))
            self._lookups[key] = pending
            pending.add_done_callback(lambda _: self._lookups.pop(key, None))
        return await asyncio.shield(pending)

    def pii_columns(self, table: str) -> frozenset[str]:
        columns = self._pii.get(table)
        if columns is None:
            columns = self._pii[table] = self._pii_lookup(table)
        return columns

    def forget_pii(self, table: str) -> None:
        """Look `table`'s PII columns up again on the next read (the catalog changed them)."""
        self._pii.pop(table, None)

    def record_action(
        self,
        request: Request,
        caller: Principal,
        action: str,
        table: str | None = None,
        rows: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.audit.record(
            request_entry(
                request, caller, action, table=table, rows=rows, detail=dict(detail or {})
            )
        )

    def record_read(
        self,
        request: Request,
        caller: Principal,
        table: str,
        rows: int,
        pii_returned: bool,
        columns: Sequence[str] = (),
    ) -> None:
        # Columns and roles let the compliance product say who read what, and under which role.
        detail = {"columns": list(columns), "roles": sorted(caller.roles)}
        self.audit.record(
            request_entry(
                request,
                caller,
                "data.read",
                table=table,
                rows=rows,
                pii=pii_returned,
                detail=detail,
            )
        )


def _credential(request: Request, tokens: Tokens) -> str:
    header = request.headers.get("authorization")
    if header is None:
        api_key = request.headers.get("x-api-key")
        if api_key:
            return api_key
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            return _session_credential(request, tokens, session)
        raise AuthenticationError(
            "No credential: send `Authorization: Bearer <access token or API key>`; "
            "get a token from POST /auth/token."
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError(
            "The Authorization header must be `Bearer <access token or API key>`."
        )
    return value.strip()


def _session_credential(request: Request, tokens: Tokens, session: str) -> str:
    """The console's session cookie: enough to read; a change must also carry the page's CSRF
    token in a header (the console's pages send it with every request they make)."""
    if request.method in SAFE_METHODS:
        return session
    if tokens.csrf_matches(session, request.headers.get(CSRF_HEADER)):
        return session
    raise PermissionDeniedError(
        f"{request.method} {request.url.path} with the console's session cookie needs the "
        f"page's CSRF token (header `{CSRF_HEADER}`); reload the page and try again."
    )
