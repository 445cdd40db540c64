"""Who may call the product's routes (their tables' names come from the product context)."""

from dataplatform.core.access import product_permission, require

PRODUCT = "web-user-analytics"
CAN_READ = require(product_permission(PRODUCT, "read"))
CAN_WRITE = require(product_permission(PRODUCT, "write"))
