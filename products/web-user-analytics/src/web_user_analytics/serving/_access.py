"""Who may call the product's routes (their tables' names come from the product context)."""

from typing import Annotated

from dataplatform.core.access import Principal, product_permission, require

PRODUCT = "web-user-analytics"
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
Writer = Annotated[Principal, require(product_permission(PRODUCT, "write"))]
