"""Short-lived access tokens (JWT) from the OAuth2 password flow.

The algorithm is pinned by configuration and is the only one accepted, so a token claiming
`alg: none` or another algorithm (the classic algorithm-switching attack) is refused. A token
carries who the user is, not what they may do: permissions are looked up on use, so a changed
role or a disabled user takes effect within the lookup cache time, not at token expiry.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import AuthenticationError

ISSUER = "dataplatform"
AUDIENCE = "dataplatform-api"
_SECRET_NAME = "jwt_secret"  # noqa: S105 (the row name, not a secret)


class SecretRecord(Base):
    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type)


class Tokens:
    """Issues and checks access tokens with one secret and one algorithm."""

    def __init__(self, secret: str, algorithm: str, lifetime_minutes: int) -> None:
        self._secret = secret
        self.algorithm = algorithm
        self.lifetime = timedelta(minutes=lifetime_minutes)

    def issue(self, username: str, now: datetime | None = None) -> IssuedToken:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": username,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._secret, algorithm=self.algorithm)
        return IssuedToken(token, int(self.lifetime.total_seconds()))

    def csrf_token(self, token: str) -> str:
        """The token a page sends back with a change it asks for under the session `token`:
        a site that makes the browser send the cookie cannot read the page to learn it."""
        return hmac.new(
            self._secret.encode(), b"csrf:" + token.encode(), hashlib.sha256
        ).hexdigest()

    def csrf_matches(self, token: str, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(self.csrf_token(token), sent)

    def subject(self, token: str) -> str:
        """The user a valid token names; `AuthenticationError` saying why it is refused otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self.algorithm],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("The access token has expired; log in again.") from None
        except jwt.InvalidAlgorithmError:
            raise AuthenticationError(
                f"The access token is not signed with {self.algorithm}, the only algorithm accepted."
            ) from None
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"The access token is not valid: {exc}.") from None
        return str(claims["sub"])


def signing_secret(settings: PlatformSettings, store: MetadataStore) -> str:
    """The configured secret; in dev without one, a random secret kept in the metadata store."""
    if settings.auth.jwt_secret is not None:
        return settings.auth.jwt_secret.get_secret_value()
    with store.session() as session:
        stored = session.get(SecretRecord, _SECRET_NAME)
        if stored is not None:
            return stored.value
    generated = secrets.token_hex(32)
    try:
        with store.session() as session:
            session.add(
                SecretRecord(name=_SECRET_NAME, value=generated, created_at=datetime.now(UTC))
            )
    except IntegrityError:  # another process made it first: use theirs
        pass
    with store.session() as session:
        return str(
            session.scalars(
                select(SecretRecord.value).where(SecretRecord.name == _SECRET_NAME)
            ).one()
        )
