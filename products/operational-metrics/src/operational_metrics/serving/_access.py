"""Who may call the product's routes (their tables' names come from the product context)."""

from typing import Annotated

from dataplatform.core.access import Principal, product_permission, require

PRODUCT = "operational-metrics"
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
# Setting a silence is the one change the product takes through its API.
Writer = Annotated[Principal, require(product_permission(PRODUCT, "write"))]
