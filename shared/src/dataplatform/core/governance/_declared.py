"""Which columns of which tables hold a person, as the products declare it: the `pii` columns of
`Product.tables`, storage's `Table(pii=...)` and the columns a model's header tags `pii`.

The erasure looks for people there, the suppression guard keeps erased people out of them, and
the lake keeps them out of its file statistics; no column name is guessed.
"""

import functools
from collections.abc import Iterable, Mapping

from dataplatform.core.product import PII as PII  # re-exported: the tag governance reads
from dataplatform.core.product import Product, discover_products


def person_columns_of(products: Iterable[Product]) -> dict[str, frozenset[str]]:
    """`{table: its pii columns}` over every table the products declare or their models write."""
    return {
        product.table_name(table.name): frozenset(table.pii)
        for product in products
        for table in product.tables
        if table.pii
    }


@functools.cache  # declarations change only with the installed code
def declared_person_columns() -> Mapping[str, frozenset[str]]:
    """`person_columns_of` every installed product."""
    return person_columns_of(discover_products())
