"""Who may call the product's routes, and the full names of the gold tables they read."""

from dataplatform.core.access import product_permission, require

PRODUCT = "web-user-analytics"
CAN_READ = require(product_permission(PRODUCT, "read"))
CAN_WRITE = require(product_permission(PRODUCT, "write"))


def gold(table: str) -> str:
    """`sessions` -> `web_user_analytics.gold.sessions`."""
    return f"{PRODUCT.replace('-', '_')}.gold.{table}"
