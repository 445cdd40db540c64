"""Which processes make up the running platform, each one a `dataplatform` command."""

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dataplatform.core.config import PlatformSettings
from dataplatform.core.product import Product
from dataplatform.platform.deployments import PLATFORM

Role = Literal["gateway", "jobs", "ingestion", "models"]
# Children run the CLI with the orchestrator's own interpreter, so they see the same installation.
CLI: tuple[str, ...] = (sys.executable, "-m", "dataplatform.cli")
# How often the platform's jobs publish the audit log and lineage and refresh the catalog.
JOBS_EVERY_SECONDS = 10


@dataclass(frozen=True)
class ProcessSpec:
    """One process the orchestrator keeps running; `product` is `platform` for the platform's own."""

    name: str
    product: str
    role: Role
    argv: tuple[str, ...]


def plan_processes(
    settings: PlatformSettings, products: Sequence[Product], host: str, port: int
) -> list[ProcessSpec]:
    """The gateway, the platform's jobs, and per product its ingestion worker (when events travel
    through Redis or Kafka), its continuous model runner (when it has models) and its job
    scheduler (when it declares jobs)."""
    specs = [
        ProcessSpec(
            "gateway", PLATFORM, "gateway", (*CLI, "serve", "--host", host, "--port", str(port))
        ),
        ProcessSpec(
            "jobs",
            PLATFORM,
            "jobs",
            (
                *CLI,
                "jobs",
                "run",
                "--every",
                str(JOBS_EVERY_SECONDS),
                "--scrape-gateway",
                f"http://{_reachable(host)}:{port}/metrics",
            ),
        ),
    ]
    for product in products:
        # With the embedded bus the gateway's collector writes bronze itself.
        if product.streams and settings.bus != "embedded":
            specs.append(
                ProcessSpec(
                    f"{product.name}/ingestion",
                    product.name,
                    "ingestion",
                    (*CLI, "ingest", "run", "--product", product.name),
                )
            )
        # A product's schedule is its model runs every `schedule_seconds`.
        if product.model_list():
            specs.append(
                ProcessSpec(
                    f"{product.name}/models",
                    product.name,
                    "models",
                    (*CLI, "models", "run", "--product", product.name, "--continuous"),
                )
            )
        if product.jobs:
            specs.append(
                ProcessSpec(
                    f"{product.name}/jobs",
                    product.name,
                    "jobs",
                    (*CLI, "jobs", "run", "--product", product.name),
                )
            )
    return specs


def _reachable(host: str) -> str:
    """The address to reach a server listening on `host` from this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host  # noqa: S104
