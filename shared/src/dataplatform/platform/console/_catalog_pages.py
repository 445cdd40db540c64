"""The catalog in the console: every table with a search, and a page per table (its columns,
lineage at table and column level, and a sample of its rows masked as the reader's roles say)."""

from dataplatform.core.access import CATALOG_READ
from dataplatform.core.console import Answer, Chart, ConsolePage, Field, Form

PREFIX = "/console"

CATALOG_PAGE = ConsolePage(
    "catalog",
    "Catalog",
    CATALOG_READ,
    description="Every table of every product: its layer, owner, size and how long ago it was "
    "last written. Open a table for its columns, lineage and rows.",
    forms=(
        Form(
            "Search",
            "/catalog/search",
            "GET",
            fields=(Field("q", "Name, tag or column"),),
            submit="Search",
            answer=Answer(
                "table",
                ("product", "layer", "matched", "description"),
                rows="hits",
                link=f"{PREFIX}/catalog/{{table}}",
            ),
        ),
    ),
    charts=(
        Chart(
            "Tables",
            "/catalog/tables?limit=500",
            x="name",
            series=("layer", "owner", "row_count", "size_bytes", "freshness_seconds"),
            rows="tables",
            kind="table",
            link=f"{PREFIX}/catalog/{{name}}",
        ),
    ),
)


def table_page(table: str, columns: list[str]) -> ConsolePage:
    """A catalogued table: its columns, lineage, and a sample of its rows as the reader may see
    them (PII masked without `pii:read`)."""
    return ConsolePage(
        "table",
        table,
        CATALOG_READ,
        description="Columns with their tags, what the table comes from and feeds, and a "
        "sample of its rows as your roles let you see them.",
        forms=(
            Form(
                "Lineage of a column",
                f"/catalog/lineage/{table}",
                "GET",
                fields=(Field("column", "Column"), Field("depth", "Hops", "number", "2")),
                submit="Follow",
                answer=Answer("source", ("target",), rows="edges", kind="graph"),
            ),
        ),
        charts=(
            Chart(
                "Columns",
                f"/catalog/tables/{table}",
                x="name",
                series=("type", "description", "tags"),
                rows="columns",
                kind="table",
            ),
            Chart(
                "Lineage",
                f"/catalog/lineage/{table}?depth=2",
                x="source",
                series=("target",),
                rows="edges",
                kind="graph",
            ),
            Chart(
                "Sample rows",
                f"/catalog/tables/{table}/sample?limit=10",
                x=columns[0],
                series=tuple(columns[1:]) or (columns[0],),
                kind="table",
            ),
        ),
    )
