"""The platform's own HTTP routes over its services: `/auth`, `/admin/audit`, `/catalog`,
`/query` and `/exports`.

They sit above `dataplatform.platform.services`, which builds auth, the audit log and the
catalog; so the routes live here rather than in those packages, which would otherwise both
import the services and be imported by them.
"""

from dataplatform.platform.routes.audit import audit_router
from dataplatform.platform.routes.auth import auth_router
from dataplatform.platform.routes.catalog import catalog_router
from dataplatform.platform.routes.exports import exports_router
from dataplatform.platform.routes.query import query_router

__all__ = ["audit_router", "auth_router", "catalog_router", "exports_router", "query_router"]
