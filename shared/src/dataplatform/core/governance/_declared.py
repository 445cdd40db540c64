"""Which columns of which tables hold a person, as the products declare it: a table's `pii`
columns (`Table(pii=...)` in `storage/`) and the columns a model's header tags `pii`.

The erasure looks for people there, the suppression guard keeps erased people out of them, and
the lake keeps them out of its file statistics; no column name is guessed.
"""

import functools
from collections.abc import Iterable, Mapping

from dataplatform.core.product import Product, discover_products

PII = "pii"


def person_columns_of(products: Iterable[Product]) -> dict[str, frozenset[str]]:
    """`{table: its pii columns}` over every table the products declare or their models write."""
    found: dict[str, set[str]] = {}
    for product in products:
        for table in product.tables:
            found.setdefault(product.table_name(table.name), set()).update(table.pii)
        for model in product.model_list():
            tagged = {name for name, spec in model.header.columns.items() if PII in spec.tags}
            found.setdefault(product.table_name(model.name), set()).update(tagged)
    return {table: frozenset(columns) for table, columns in found.items() if columns}


@functools.cache  # declarations change only with the installed code
def declared_person_columns() -> Mapping[str, frozenset[str]]:
    """`person_columns_of` every installed product."""
    return person_columns_of(discover_products())
