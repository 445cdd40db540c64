"""Processing: models (SQL files with a header, or decorated Python functions) and their graph."""

from dataplatform.core.processing._dag import ModelGraph, build_graph
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
    load_sql_model,
    load_sql_models,
    python_model,
)

__all__ = [
    "ROWS",
    "CheckSpec",
    "ColumnEdge",
    "ColumnSpec",
    "Model",
    "ModelDefinitionError",
    "ModelGraph",
    "ModelHeader",
    "PythonModel",
    "Reference",
    "SqlModel",
    "build_graph",
    "column_lineage",
    "load_sql_model",
    "load_sql_models",
    "python_model",
    "render",
]
