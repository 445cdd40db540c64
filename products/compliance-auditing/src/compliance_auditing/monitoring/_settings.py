"""The product's settings, for checks that judge against them."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compliance_auditing.product import ComplianceAuditingSettings


def settings() -> "ComplianceAuditingSettings":
    from compliance_auditing.product import product  # product.py imports this package

    return product.settings()
