"""What mobile-user-analytics accepts: its event streams."""

from dataplatform.core.product import Stream

STREAMS = (
    Stream(
        name="app_events",
        description="Track, screen, identify and alias events sent by the iOS and Android SDKs.",
        table="bronze.app_events",
        source_kinds=("ios", "android", "server"),
        surface="app",
    ),
)
