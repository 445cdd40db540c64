"""gold.identity_links: which install ids a signed-in user was seen with, and when."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MODELS = ["silver.app_events", "gold.identity_links"]


def test_pairs_from_events_identify_and_alias_with_their_first_and_last_sighting(
    new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> None:
    pipeline = new_pipeline()
    hour = timedelta(hours=1)
    pipeline.send(
        [
            app_event("e1", T0 + hour, user="ana", install="ana-phone"),
            app_event("e2", T0 + 3 * hour, user="ana", install="ana-phone"),
            app_event("e2", T0 + 3 * hour, user="ana", install="ana-phone"),  # a retry
            app_event("e3", T0, user=None, install="guest-phone"),  # signed out: no pair
            app_event(
                "i1", T0 + 2 * hour, "identify", kind="identify", user="bo", install="bo-tab"
            ),
            app_event(
                "a1",
                T0 + 4 * hour,
                "alias",
                kind="alias",
                user="bo",
                install="bo-tab",
                properties={"previousId": "bo-old-account"},
            ),
        ]
    )
    pipeline.run(MODELS)
    # A day late: ana was on that phone earlier than the links say.
    pipeline.send([app_event("late", T0 - hour, user="ana", install="ana-phone")])
    pipeline.run(MODELS)

    links = {
        (row["user_id"], row["anonymous_id"]): (row["first_linked_at"], row["last_linked_at"])
        for row in pipeline.rows("gold.identity_links")
    }
    assert links == {
        ("ana", "ana-phone"): (T0 - hour, T0 + 3 * hour),
        ("bo", "bo-tab"): (T0 + 2 * hour, T0 + 4 * hour),
        ("bo", "bo-old-account"): (T0 + 4 * hour, T0 + 4 * hour),
    }
