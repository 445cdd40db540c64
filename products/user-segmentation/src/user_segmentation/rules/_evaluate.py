"""Who meets a rule segment's filter, over an Arrow table of features, with DuckDB."""

import duckdb
import pyarrow as pa

from user_segmentation.rules._compile import compile_filter
from user_segmentation.rules._grammar import AllOf, AnyOf, Condition


def members(features: pa.Table, node: AllOf | AnyOf | Condition) -> set[str]:
    """The person_id of every row of `features` the filter keeps (a null feature keeps none)."""
    condition, parameters = compile_filter(node)
    with duckdb.connect() as connection:
        connection.register("features", features)
        rows = connection.execute(
            f"select person_id from features where {condition}", parameters
        ).fetchall()
    return {str(person) for (person,) in rows}
