"""Who may call the product's routes (their tables' names come from the product context)."""

from typing import Annotated

from dataplatform.core.access import Principal, product_permission, require

PRODUCT = "operational-metrics"
# Every /ops route reads; the product has no route that writes.
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
