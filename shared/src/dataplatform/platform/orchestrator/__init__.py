"""The orchestrator (`dataplatform up`): the gateway and, per product, its ingestion worker and its
continuous model runner as supervised processes, plus the platform's periodic jobs."""

from dataplatform.platform.orchestrator._health import (
    PlatformHealth,
    ProductHealth,
    fetch_ready,
    platform_health,
    read_health,
)
from dataplatform.platform.orchestrator._jobs import PlatformJobs
from dataplatform.platform.orchestrator._orchestrator import PlatformOrchestrator
from dataplatform.platform.orchestrator._specs import ProcessSpec, plan_processes
from dataplatform.platform.orchestrator._state import (
    STATE_FILE,
    OrchestratorState,
    ProcessStatus,
    read_state,
)
from dataplatform.platform.orchestrator._supervised import RestartPolicy

__all__ = [
    "STATE_FILE",
    "OrchestratorState",
    "PlatformHealth",
    "PlatformJobs",
    "PlatformOrchestrator",
    "ProcessSpec",
    "ProcessStatus",
    "ProductHealth",
    "RestartPolicy",
    "fetch_ready",
    "plan_processes",
    "platform_health",
    "read_health",
    "read_state",
]
