"""What user-segmentation accepts: its event streams."""

STREAMS = ()  # reads the published gold tables of the event products; accepts no events
