"""Platform services that make the products one platform: the collector, the API gateway with
authentication and RBAC, the data catalog, the admin API, the hash-chained audit log, the
orchestrator and reporting. The platform finds products through their entry points."""
