"""Who may call the product's routes: reads need `product:user-segmentation:read`, changes and
training `product:user-segmentation:write`."""

from typing import Annotated

from dataplatform.core.access import Principal, product_permission, require

PRODUCT = "user-segmentation"
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
Writer = Annotated[Principal, require(product_permission(PRODUCT, "write"))]
