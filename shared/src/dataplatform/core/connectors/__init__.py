"""Connectors to the systems the platform stores in: the Delta lakehouse and the metadata store."""
