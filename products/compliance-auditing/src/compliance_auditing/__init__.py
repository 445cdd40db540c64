"""Compliance and auditing: Audit trail, lineage, access reports, retention enforcement and right-to-erasure across every product."""
