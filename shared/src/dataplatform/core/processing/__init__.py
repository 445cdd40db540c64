"""Processing: models (SQL files with a header, templates instantiated per table, or decorated
Python functions), their graph, and the runner that computes them incrementally, exactly once,
on DuckDB or Spark."""

from dataplatform.core.processing._checks import CheckResult, run_checks
from dataplatform.core.processing._dag import ModelGraph, build_graph
from dataplatform.core.processing._engines import (
    DuckDBEngine,
    Engine,
    Relation,
    SparkEngine,
    create_engine,
    transpile_to_spark,
)
from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._lineage import ROWS, ColumnEdge, column_lineage, render
from dataplatform.core.processing._models import (
    CheckSpec,
    ColumnSpec,
    Model,
    ModelHeader,
    PythonModel,
    Reference,
    SqlModel,
    load_models,
    load_sql_model,
    load_sql_models,
    python_model,
)
from dataplatform.core.processing._runner import (
    MODEL_QUARANTINE_SCHEMA,
    ModelRunner,
    RunResult,
    quarantine_table,
)
from dataplatform.core.processing._runs import RecordedEdge, Run, RunLog
from dataplatform.core.processing._shared_models import (
    PERSON_PROPERTIES_SCHEMA,
    identity_links_model,
    person_properties_model,
)
from dataplatform.core.processing._snapshots import Input, Snapshot
from dataplatform.core.processing._templates import load_sql_template

__all__ = [
    "MODEL_QUARANTINE_SCHEMA",
    "PERSON_PROPERTIES_SCHEMA",
    "ROWS",
    "CheckResult",
    "CheckSpec",
    "ColumnEdge",
    "ColumnSpec",
    "DuckDBEngine",
    "Engine",
    "Input",
    "Model",
    "ModelDefinitionError",
    "ModelGraph",
    "ModelHeader",
    "ModelRunner",
    "PythonModel",
    "RecordedEdge",
    "Reference",
    "Relation",
    "Run",
    "RunLog",
    "RunResult",
    "Snapshot",
    "SparkEngine",
    "SqlModel",
    "build_graph",
    "column_lineage",
    "create_engine",
    "identity_links_model",
    "load_models",
    "load_sql_model",
    "load_sql_models",
    "load_sql_template",
    "person_properties_model",
    "python_model",
    "quarantine_table",
    "render",
    "run_checks",
    "transpile_to_spark",
]
