"""The gateway benchmark's baseline: one bare FastAPI route answering the same rows from memory,
with no authentication, audit, limits, metrics or middleware."""

import os

from fastapi import FastAPI

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.serving import JSONOut

TABLE = "mobile_user_analytics.gold.user_summary"

rows = Lakehouse(os.environ["DATAPLATFORM_LAKE_ROOT"]).read(TABLE).to_pylist()
app = FastAPI()


@app.get("/mobile/tables/user_summary")
def user_summary(limit: int = 100) -> JSONOut:
    return JSONOut({"table": TABLE, "version": 0, "rows": rows[:limit], "next_cursor": None})


@app.get("/health")
def health() -> JSONOut:
    return JSONOut({"status": "ok"})
