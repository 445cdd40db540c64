"""`/admin/sources`, `/admin/products` (configuration, versioned) and `/admin/deployments`."""

import os
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.access import ADMIN, SOURCES_WRITE, Principal, require
from dataplatform.core.config import redacted
from dataplatform.core.errors import InvalidRequestError, NotFoundError, did_you_mean
from dataplatform.core.product import Product
from dataplatform.core.product_config import ConfigVersion, ProductConfigs
from dataplatform.core.serving import JSONOut
from dataplatform.platform.services import Services, services
from dataplatform.platform.sources import Source

MAX_CONFIG_VERSION = 1_000_000
Platform = Annotated[Services, Depends(services)]
Admin = Annotated[Principal, require(ADMIN)]
SourceManager = Annotated[Principal, require(SOURCES_WRITE)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewSource(_Body):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="ios, android, web or server")
    product: str


class ConfigChange(_Body):
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="Keys of the product's settings and their values; a key left out takes "
        "the value of the product's files.",
    )
    comment: str = ""


class NewDeployment(_Body):
    product: str
    version: str = Field(min_length=1, max_length=100)
    environment: Literal["dev", "staging", "prod"]
    status: Literal["started", "running", "succeeded", "failed", "stopped", "rolled_back"]
    detail: str = ""


def operations_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/sources", summary="Apps, sites and servers that send events")
    def list_sources(_: SourceManager, platform: Platform) -> JSONOut:
        return JSONOut({"sources": [_source(source) for source in platform.sources.list()]})

    @router.post(
        "/sources", status_code=201, summary="Create a source; its write key is shown once"
    )
    def create_source(
        body: NewSource, caller: SourceManager, platform: Platform, request: Request
    ) -> JSONOut:
        source, write_key = platform.sources.create(body.name, body.kind, body.product)
        platform.record(
            request,
            caller,
            "sources.create",
            detail={"name": source.name, "product": source.product},
        )
        return JSONOut({"source": _source(source), "write_key": write_key}, status_code=201)

    @router.post("/sources/{name}/rotate", summary="Give a source a new write key (shown once)")
    def rotate_source(
        name: str, caller: SourceManager, platform: Platform, request: Request
    ) -> JSONOut:
        write_key = platform.sources.rotate(name)
        platform.record(request, caller, "sources.rotate", detail={"name": name})
        return JSONOut({"name": name, "write_key": write_key})

    @router.delete("/sources/{name}", summary="Revoke a source's write key")
    def revoke_source(
        name: str, caller: SourceManager, platform: Platform, request: Request
    ) -> JSONOut:
        source = platform.sources.revoke(name)
        platform.record(request, caller, "sources.revoke", detail={"name": name})
        return JSONOut(_source(source))

    @router.get(
        "/products",
        summary="Every installed product: its configuration version and latest deployment record",
    )
    def list_products(_: Admin, platform: Platform) -> JSONOut:
        from dataplatform.platform.deployments import Deployments

        configs = ProductConfigs(platform.store)
        deployments = Deployments(platform.store)
        listed = []
        for product in platform.products:
            latest = deployments.list(product=product.name, limit=1)
            listed.append(
                {
                    "name": product.name,
                    "owner": product.owner,
                    "prefix": product.prefix,
                    "description": product.description,
                    "tables": list(product.table_names),
                    "config_version": configs.latest_version(product.name),
                    # What runs, since when: the orchestrator records each start and restart.
                    "deployment_status": latest[0].status if latest else None,
                    "deployment_detail": latest[0].detail if latest else None,
                    "since": latest[0].recorded_at if latest else None,
                }
            )
        return JSONOut({"products": listed})

    @router.get("/products/{name}/config", summary="A product's settings in force")
    def get_config(name: str, _: Admin, platform: Platform) -> JSONOut:
        product = _product(platform, name)
        latest = ProductConfigs(platform.store).latest(product.name)
        return JSONOut(_config(product, latest))

    @router.put("/products/{name}/config", summary="Change a product's settings (a new version)")
    def change_config(
        name: str, body: ConfigChange, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        product = _product(platform, name)
        saved = ProductConfigs(platform.store).save(
            product, body.values, caller.subject, body.comment
        )
        platform.record(
            request,
            caller,
            "admin.products.config",
            detail={"product": product.name, "version": saved.version, "keys": sorted(body.values)},
        )
        return JSONOut(_config(product, saved))

    @router.get("/products/{name}/config/versions", summary="Every stored version, newest first")
    def config_versions(name: str, _: Admin, platform: Platform) -> JSONOut:
        product = _product(platform, name)
        history = ProductConfigs(platform.store).history(product.name)
        return JSONOut({"product": product.name, "versions": [asdict(v) for v in history]})

    @router.get("/products/{name}/config/diff", summary="What changed between two stored versions")
    def config_diff(
        name: str,
        _: Admin,
        platform: Platform,
        from_version: Annotated[
            int, Query(ge=0, le=MAX_CONFIG_VERSION, description="0: the product's files")
        ],
        to_version: Annotated[int, Query(ge=0, le=MAX_CONFIG_VERSION)],
    ) -> JSONOut:
        product = _product(platform, name)
        configs = ProductConfigs(platform.store)
        before = configs.get(product.name, from_version).values
        after = configs.get(product.name, to_version).values
        changes = [
            {"key": key, "before": before.get(key), "after": after.get(key)}
            for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)
        ]
        return JSONOut(
            {"product": product.name, "from": from_version, "to": to_version, "changes": changes}
        )

    @router.post(
        "/products/{name}/config/versions/{version}/rollback",
        summary="Put an earlier version's values back in force, as a new version (0: the files)",
    )
    def config_rollback(
        name: str,
        version: Annotated[int, Path(ge=0, le=MAX_CONFIG_VERSION)],
        caller: Admin,
        platform: Platform,
        request: Request,
    ) -> JSONOut:
        product = _product(platform, name)
        configs = ProductConfigs(platform.store)
        earlier = configs.get(product.name, version)
        saved = configs.save(
            product, earlier.values, caller.subject, f"rolled back to version {version}"
        )
        platform.record(
            request,
            caller,
            "admin.products.config.rollback",
            detail={"product": product.name, "to": version, "version": saved.version},
        )
        return JSONOut(_config(product, saved))

    @router.post(
        "/products/{name}/restart",
        status_code=202,
        summary="Ask the orchestrator to restart a product's processes (recorded, then done)",
    )
    def restart_product(name: str, caller: Admin, platform: Platform, request: Request) -> JSONOut:
        from dataplatform.platform.deployments import RESTART_REQUESTED, Deployments

        product = _product(platform, name)
        deployments = Deployments(platform.store)
        latest = deployments.list(product=product.name, limit=1)
        recorded = deployments.record(
            product.name,
            latest[0].version if latest else "unknown",
            platform.settings.environment,
            RESTART_REQUESTED,
            "asked through the admin API; the orchestrator restarts the product's processes "
            "within seconds",
            caller.subject,
        )
        platform.record(request, caller, "admin.products.restart", detail={"product": name})
        return JSONOut(asdict(recorded), status_code=202)

    @router.get("/deployments", summary="Deployments, newest first")
    def list_deployments(
        _: Admin,
        platform: Platform,
        product: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONOut:
        from dataplatform.platform.deployments import Deployments

        found = Deployments(platform.store).list(product=product, limit=limit)
        return JSONOut({"deployments": [asdict(deployment) for deployment in found]})

    @router.post("/deployments", status_code=201, summary="Record a deployment (deploy tooling)")
    def record_deployment(
        body: NewDeployment, caller: Admin, platform: Platform, request: Request
    ) -> JSONOut:
        from dataplatform.platform.deployments import Deployments

        _product(platform, body.product, field="product")
        deployment = Deployments(platform.store).record(
            body.product, body.version, body.environment, body.status, body.detail, caller.subject
        )
        platform.record(request, caller, "admin.deployments.record", detail=body.model_dump())
        return JSONOut(asdict(deployment), status_code=201)

    return router


def _product(platform: Services, name: str, field: str | None = None) -> Product:
    products = {product.name: product for product in platform.products}
    if name in products:
        return products[name]
    message = f"No product `{name}` is installed.{did_you_mean(name, products)}"
    if field is not None:
        raise InvalidRequestError(message, field)
    raise NotFoundError(message)


def _config(product: Product, stored: ConfigVersion | None) -> dict[str, Any]:
    values = stored.values if stored else {}
    return {
        "product": product.name,
        "version": stored.version if stored else None,
        "changed_by": stored.changed_by if stored else None,
        "changed_at": stored.changed_at if stored else None,
        "stored": values,
        "settings": redacted(product.settings(stored=values)),
        "pinned_by_environment": _pinned(product, values),
    }


def _pinned(product: Product, values: dict[str, Any]) -> list[str]:
    """Stored keys an environment variable overrides, so the stored value is not in force."""
    in_environment = {name.upper() for name in os.environ}
    return [key for key in values if f"{product.env_prefix}{key}".upper() in in_environment]


def _source(source: Source) -> dict[str, Any]:
    return {
        "name": source.name,
        "kind": source.kind,
        "product": source.product,
        "key_prefix": source.key_prefix,
        "created_at": source.created_at,
        "revoked_at": source.revoked_at,
        "active": source.active,
    }
