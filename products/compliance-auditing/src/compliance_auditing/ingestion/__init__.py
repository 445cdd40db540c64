"""What compliance-auditing accepts: its event streams."""

STREAMS = ()  # reads the platform's audit log and lineage tables; accepts no events
