"""Platform services that make the products one platform. This issue brings the product server;
the gateway, auth, catalog, admin, audit, orchestrator and reporting follow."""
