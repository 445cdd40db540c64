"""`dataplatform users` and `dataplatform keys`: people and services that may call the APIs."""

import getpass
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dataplatform.cli._common import cli_settings, console
from dataplatform.core.config import PlatformSettings, load_settings

if TYPE_CHECKING:
    from dataplatform.platform.audit import AuditLog
    from dataplatform.platform.auth import Auth

users_app = typer.Typer(no_args_is_help=True, help="People who log in to the APIs and console.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for services and scripts.")

RolesOption = Annotated[
    list[str] | None, typer.Option("--role", help="A role to grant; repeat for more.")
]


def _platform() -> "tuple[Auth, AuditLog]":
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import discover_products
    from dataplatform.platform.audit import AuditLog
    from dataplatform.platform.auth import Auth

    settings = cli_settings()
    store = MetadataStore(settings.database_url)
    store.upgrade()
    auth = Auth.create(settings, store, [product.name for product in discover_products()])
    auth.roles.ensure_builtin()
    return auth, AuditLog(store)


def cli_actor() -> str:
    """Who a CLI change is recorded as: the operating-system user."""
    return f"cli:{getpass.getuser()}"


def _audit(log: "AuditLog", action: str, **detail: object) -> None:
    from dataplatform.platform.audit import AuditEntry

    log.append(
        [AuditEntry(actor=cli_actor(), actor_kind="cli", action=action, detail=dict(detail))]
    )


@users_app.command("create")
def users_create(
    username: str,
    admin: Annotated[bool, typer.Option("--admin", help="Grant the admin role.")] = False,
    role: RolesOption = None,
    generate_password: Annotated[
        bool,
        typer.Option(help="Generate the password and print it once, instead of asking for one."),
    ] = False,
) -> None:
    """Create a user; the password is asked for twice, or generated and printed once."""
    from dataplatform.platform.auth import generate_password as new_password

    roles = [*(["admin"] if admin else []), *(role or [])]
    if not roles:
        raise typer.BadParameter("grant at least one role: --admin or --role NAME")
    if not generate_password and not sys.stdin.isatty():
        raise typer.BadParameter("no terminal to ask for the password on; pass --generate-password")
    password = new_password() if generate_password else _ask_password()
    auth, log = _platform()
    user = auth.users.create(username, password, roles, cli_actor())
    _audit(log, "admin.users.create", username=user.username, roles=list(user.roles))
    console.print(f"user [bold]{user.username}[/bold] created with roles {', '.join(user.roles)}")
    if generate_password:
        console.print(f"password: {password}", highlight=False, markup=False)
        console.print("It is shown this once; only its argon2 hash is stored.")


def _ask_password() -> str:
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("list")
def users_list() -> None:
    """Users with their roles and state."""
    auth, _ = _platform()
    table = Table("user", "roles", "created", "last login", "state")
    for user in auth.users.list():
        table.add_row(
            user.username,
            ", ".join(user.roles),
            f"{user.created_at:%Y-%m-%d %H:%M}",
            f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never",
            "active" if user.active else "disabled",
        )
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Stop a user from logging in; their tokens stop working within seconds."""
    auth, log = _platform()
    auth.users.update(username, disabled=True)
    _audit(log, "admin.users.disable", username=username)
    console.print(f"user {username} disabled")


@keys_app.command("create")
def keys_create(
    name: str,
    role: RolesOption = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Lifetime; the configured default when left out.")
    ] = None,
) -> None:
    """Create an API key with roles and print it once."""
    if not role:
        raise typer.BadParameter("grant at least one role with --role NAME")
    auth, log = _platform()
    settings = load_settings(PlatformSettings)
    key, secret = auth.keys.create(
        name, role, cli_actor(), expires_in_days or settings.auth.api_key_days
    )
    _audit(log, "keys.create", name=key.name, roles=list(key.roles))
    console.print(f"API key [bold]{key.name}[/bold] with roles {', '.join(key.roles)}")
    console.print(f"key: {secret}", highlight=False, markup=False)
    console.print("It is shown this once; only its SHA-256 is stored.")


@keys_app.command("list")
def keys_list() -> None:
    """API keys with their roles, prefix, expiry and state (never the secret)."""
    auth, _ = _platform()
    table = Table("name", "prefix", "roles", "expires", "last used", "state")
    for key in auth.keys.list():
        table.add_row(
            key.name,
            f"{key.key_prefix}...",
            ", ".join(key.roles),
            f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "never",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            "revoked" if key.revoked_at else "active",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke an API key; every process refuses it within seconds."""
    auth, log = _platform()
    auth.keys.revoke(name)
    _audit(log, "keys.revoke", name=name)
    console.print(f"API key {name} revoked")
