"""`silver.user_agents`: each distinct user-agent string once, parsed by ua-parser (uap-core's
maintained rules). User agents cannot be parsed in SQL; the SQL models join this table instead."""

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.processing import Snapshot, python_model

USER_AGENTS_SCHEMA = pa.schema(
    [
        pa.field("user_agent", pa.string(), nullable=False),
        pa.field("browser", pa.string()),
        pa.field("browser_version", pa.string()),
        pa.field("os", pa.string()),
        pa.field("os_version", pa.string()),
        pa.field("device_brand", pa.string()),
        pa.field("device_model", pa.string()),
        pa.field("device_type", pa.string()),
        pa.field("is_bot", pa.bool_()),
    ]
)
MOBILE_SYSTEMS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS"})
DESKTOP_SYSTEMS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD"}
)
FROM_USER_AGENT = ["silver.page_views.user_agent"]


@python_model(
    name="silver.user_agents",
    materialized="merge",
    unique_key=["user_agent"],
    description=(
        "Each user-agent string seen on the website once, parsed: browser, OS, device type "
        "(desktop, mobile, tablet, bot, other) and whether it is a known bot (uap-core's crawler "
        "list)."
    ),
    columns={
        "user_agent": {"description": "The user-agent string as the browser sent it."},
        "device_type": {"description": "desktop, mobile, tablet, bot or other."},
        "is_bot": {"description": "A known crawler or bot: left out of metrics by default."},
    },
    inputs=["silver.page_views"],
    schema=USER_AGENTS_SCHEMA,
    lineage={name: FROM_USER_AGENT for name in USER_AGENTS_SCHEMA.names},
)
def user_agents(page_views: pa.Table, this: Snapshot) -> pa.Table:
    """The user agents of the new page views that are not parsed yet."""
    seen = pc.unique(page_views["user_agent"].drop_null())
    known = set(this.rows_where("user_agent", seen)["user_agent"].to_pylist())
    return pa.Table.from_pylist(
        [describe(agent) for agent in sorted(set(seen.to_pylist()) - known)], USER_AGENTS_SCHEMA
    )


def describe(user_agent: str) -> dict[str, Any]:
    """One parsed row of `USER_AGENTS_SCHEMA` for `user_agent`."""
    from ua_parser import parse  # compiles its rules on first use: only in the models process

    parsed = parse(user_agent)
    browser, system, device = parsed.user_agent, parsed.os, parsed.device
    # uap-core files every crawler it knows under the device family `Spider`.
    is_bot = device is not None and device.family == "Spider"
    return {
        "user_agent": user_agent,
        "browser": browser.family if browser else "Other",
        "browser_version": _version(browser.major, browser.minor) if browser else None,
        "os": system.family if system else "Other",
        "os_version": _version(system.major, system.minor) if system else None,
        "device_brand": device.brand if device else None,
        "device_model": device.model if device else None,
        "device_type": "bot"
        if is_bot
        else _device_type(
            user_agent,
            system.family if system else None,
            device.family if device else "",
            (device.brand or "") if device else "",
        ),
        "is_bot": is_bot,
    }


def _device_type(user_agent: str, system: str | None, family: str, brand: str) -> str:
    # uap-core names devices, not their kind; these are the conventions browsers follow: iPads
    # say iPad, Android tablets leave `Mobile` out of the string (Google's guidance).
    if family == "iPad" or "Tablet" in brand or "Tablet" in user_agent:
        return "tablet"
    if system == "Android" and "Mobile" not in user_agent:
        return "tablet"
    if system in MOBILE_SYSTEMS or "Mobi" in user_agent:
        return "mobile"
    if system in DESKTOP_SYSTEMS:
        return "desktop"
    return "other"


def _version(major: str | None, minor: str | None) -> str | None:
    if major is None:
        return None
    return f"{major}.{minor}" if minor is not None else major
