"""What user-segmentation accepts: no events of its own."""

STREAMS = ()  # it reads the published gold tables of the mobile and web products
