"""Authentication and RBAC: users with argon2 hashes, JWT access tokens, hashed API keys, roles."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit import AuditWriter
from dataplatform.platform.auth._access import (
    CSRF_HEADER,
    SESSION_COOKIE,
    PlatformAccess,
    RateLimiter,
)
from dataplatform.platform.auth._keys import KEY_PREFIX, ApiKey, ApiKeys
from dataplatform.platform.auth._lockouts import Lockout, LoginLockouts, utc_now
from dataplatform.platform.auth._roles import Role, Roles, builtin_roles
from dataplatform.platform.auth._tokens import IssuedToken, Tokens, signing_secret
from dataplatform.platform.auth._users import (
    MIN_PASSWORD_LENGTH,
    User,
    Users,
    generate_password,
    is_username,
)


@dataclass(frozen=True)
class Auth:
    """Roles, users, API keys and tokens over one metadata store."""

    roles: Roles
    users: Users
    keys: ApiKeys
    tokens: Tokens

    @classmethod
    def create(cls, settings: PlatformSettings, store: MetadataStore, products: list[str]) -> Self:
        cache = settings.auth.cache_seconds
        roles = Roles(store, products, cache)
        tokens = Tokens(
            signing_secret(settings, store),
            settings.auth.jwt_algorithm,
            settings.auth.access_token_minutes,
        )
        return cls(roles, Users(store, roles, cache), ApiKeys(store, roles, cache), tokens)

    def access(
        self,
        settings: PlatformSettings,
        audit: AuditWriter,
        pii_lookup: Callable[[str], frozenset[str]],
    ) -> PlatformAccess:
        """How an app of the platform authenticates its callers, limited as the gateway says."""
        gateway = settings.gateway
        limiter = RateLimiter(gateway.rate_limit, gateway.rate_limit_storage)
        return PlatformAccess(self.users, self.keys, self.tokens, limiter, audit, pii_lookup)


__all__ = [
    "CSRF_HEADER",
    "KEY_PREFIX",
    "MIN_PASSWORD_LENGTH",
    "SESSION_COOKIE",
    "ApiKey",
    "ApiKeys",
    "Auth",
    "IssuedToken",
    "Lockout",
    "LoginLockouts",
    "PlatformAccess",
    "RateLimiter",
    "Role",
    "Roles",
    "Tokens",
    "User",
    "Users",
    "builtin_roles",
    "generate_password",
    "is_username",
    "utc_now",
]
