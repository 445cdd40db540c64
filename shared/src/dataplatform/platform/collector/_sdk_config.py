"""What the browser SDKs load at start, so that a website needs nothing from a vendor's servers.

Each answer is the least the SDK needs to send every event to this collector and nothing more:
no destinations, no remote plugins, no session recording, surveys, heatmaps, site apps or
telemetry. Settings and config for an unknown write key answer 404; PostHog's flags answer "no
flags" for any token, as PostHog does.
"""

import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dataplatform.platform.collector._body import RequestRefusedError
from dataplatform.platform.sources import Source

FindSource = Callable[[str | None], Awaitable[Source | None]]

# posthog-js 1.449.2 reads these keys; each value turns a feature off that would load a script
# or send data we do not serve, except autocapture, which stays on.
POSTHOG_REMOTE_CONFIG: dict[str, Any] = {
    "supportedCompression": ["gzip-js", "base64"],
    "hasFeatureFlags": False,
    "autocapture_opt_out": False,
    "elementsChainAsString": True,
    "captureDeadClicks": False,
    "capturePerformance": False,
    "autocaptureExceptions": False,
    "sessionRecording": False,
    "heatmaps": False,
    "surveys": False,
    "productTours": False,
    "conversations": False,
    "logs": False,
    "errorTracking": {"autocaptureExceptions": False},
    "defaultIdentifiedOnly": True,
    "siteApps": [],
}


def segment_settings(source_key: str, request: Request) -> dict[str, Any]:
    """analytics-next's CDN settings: only its `Segment.io` integration, pointed here."""
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": source_key,
                "apiHost": f"{_host_and_root(request)}/v1",
                "protocol": request.url.scheme,
            }
        },
        "plan": {},
        "enabledMiddleware": {},
        "remotePlugins": [],
        "metrics": {"sampleRate": 0},  # no SDK telemetry to Segment
    }


def rudderstack_source_config(source: Source) -> dict[str, Any]:
    """RudderStack JS v3's source config: enabled, no destinations, no error or metric reports."""
    return {
        "source": {
            "id": source.name,
            "name": source.name,
            "workspaceId": "dataplatform",
            "enabled": True,
            "config": {
                "statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}
            },
            "destinations": [],
        }
    }


def posthog_flags() -> dict[str, Any]:
    """`/flags/?v=2`: no flags, no errors computing them."""
    return {
        "flags": {},
        "errorsWhileComputingFlags": False,
        "quotaLimited": [],
        "requestId": str(uuid.uuid4()),
    }


def posthog_decide() -> dict[str, Any]:
    """`/decide/` (v3, v4): no flags, with the remote config older posthog-js reads from it."""
    return {
        **POSTHOG_REMOTE_CONFIG,
        "config": {"enable_collect_everything": True},
        "toolbarParams": {},
        "isAuthenticated": False,
        "featureFlags": {},
        "featureFlagPayloads": {},
        "flags": {},
        "errorsWhileComputingFlags": False,
        "quotaLimited": [],
        "requestId": str(uuid.uuid4()),
    }


def posthog_config_js(token: str) -> str:
    """The script posthog-js loads: sets its remote config global for `token`."""
    entry = orjson.dumps({"config": {"token": token, **POSTHOG_REMOTE_CONFIG}, "siteApps": []})
    return (
        "(function(){var w=window;w._POSTHOG_REMOTE_CONFIG=w._POSTHOG_REMOTE_CONFIG||{};"
        f"w._POSTHOG_REMOTE_CONFIG[{orjson.dumps(token).decode()}]={entry.decode()};}})();\n"
    )


def add_sdk_config_routes(app: FastAPI, find_source: FindSource) -> None:
    """The settings, source config, flags and remote config endpoints, on `app`."""

    async def known(key: str | None, what: str) -> Source:
        source = await find_source(key)
        if source is None:
            raise RequestRefusedError(
                404,
                "unknown_write_key",
                f"No active source has the {what} in this URL; create one with "
                "`dataplatform sources create` and use its write key.",
            )
        return source

    @app.get("/v1/projects/{write_key}/settings", tags=["sdk config"])
    async def segment_cdn_settings(write_key: str, request: Request) -> JSONResponse:
        await known(write_key, "write key")
        return JSONResponse(segment_settings(write_key, request))

    @app.get("/sourceConfig", tags=["sdk config"])
    @app.get("/sourceConfig/", tags=["sdk config"], include_in_schema=False)
    async def rudderstack_config(request: Request, writeKey: str | None = None) -> JSONResponse:  # noqa: N803
        return JSONResponse(rudderstack_source_config(await known(writeKey, "`writeKey`")))

    async def flags() -> JSONResponse:
        return JSONResponse(posthog_flags())

    async def decide() -> JSONResponse:
        return JSONResponse(posthog_decide())

    for path, endpoint in (("/flags", flags), ("/decide", decide)):
        # One route per method: FastAPI names a route's operations after its first method only.
        for variant, method in itertools.product((path, f"{path}/"), ("GET", "POST")):
            app.add_api_route(
                variant,
                endpoint,
                methods=[method],
                name=f"{endpoint.__name__}_{method.lower()}",
                tags=["sdk config"],
                include_in_schema=variant == path,
            )

    @app.get("/array/{token}/config", tags=["sdk config"])
    async def posthog_config(token: str) -> JSONResponse:
        await known(token, "project token")
        return JSONResponse({"token": token, **POSTHOG_REMOTE_CONFIG})

    @app.get("/array/{token}/config.js", tags=["sdk config"])
    async def posthog_config_script(token: str) -> Response:
        await known(token, "project token")
        return Response(posthog_config_js(token), media_type="application/javascript")


def _host_and_root(request: Request) -> str:
    """`host[:port][/root]` of this collector as the browser reached it, without the scheme."""
    base = str(request.base_url).rstrip("/")
    return base.split("://", 1)[1]
