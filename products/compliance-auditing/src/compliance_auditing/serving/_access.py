"""Who may call the product's routes (their tables' names come from the product context).

See PRODUCT_README.md: the audit trail and the access reports are for holders of audit:read
(auditors); lineage for catalog readers, as the platform's own lineage is; the product's records
for its readers; an erasure for its writers (the governance team, role compliance-auditing-owner,
and admins), since it deletes in every product.
"""

from typing import Annotated

from dataplatform.core.access import (
    AUDIT_READ,
    CATALOG_READ,
    Principal,
    product_permission,
    require,
)

PRODUCT = "compliance-auditing"
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
Writer = Annotated[Principal, require(product_permission(PRODUCT, "write"))]
Auditor = Annotated[Principal, require(AUDIT_READ)]
CatalogReader = Annotated[Principal, require(CATALOG_READ)]
