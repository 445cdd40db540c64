"""gold.identity_links: which browsers a signed-in user was seen on, and when, from both SDKs."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_pairs_from_pages_identify_alias_and_posthog_with_first_and_last_sighting(
    tmp_path: Path,
    sdk: Any,
    to_bronze: Callable[..., None],
    make_models: Callable[[Path], Any],
) -> None:
    alias = (
        "segment",
        {
            "type": "alias",
            "userId": "bo",
            "previousId": "bo-guest-account",
            "messageId": "alias-1",
            "timestamp": (T0 + 4 * HOUR).isoformat(),
        },
    )
    posthog_identify = (
        "posthog",
        {
            "event": "$identify",
            "distinct_id": "cy",
            "uuid": "ph-identify-1",
            "timestamp": (T0 + 5 * HOUR).isoformat(),
            "properties": {"$anon_distinct_id": "cy-browser"},
        },
    )
    with make_models(tmp_path) as models:
        to_bronze(
            models.lake,
            [
                sdk.page("ana-browser", T0 + HOUR, "/", user_id="ana"),
                sdk.page("ana-browser", T0 + 3 * HOUR, "/cart", user_id="ana"),
                sdk.page("guest-browser", T0, "/"),  # never signed in: no pair
                sdk.identify("bo-browser", "bo", T0 + 2 * HOUR),
                alias,
                posthog_identify,
                sdk.posthog_pageview("dee-browser", T0, "/"),  # distinct_id is the device
            ],
        )
        models.run()
        # Delivered late: ana was on that browser earlier than the links say.
        to_bronze(models.lake, [sdk.page("ana-browser", T0 - HOUR, "/", user_id="ana")])
        models.run()

        links = {
            (row["user_id"], row["anonymous_id"]): (row["first_linked_at"], row["last_linked_at"])
            for row in models.rows("gold.identity_links")
        }

    assert links == {
        ("ana", "ana-browser"): (T0 - HOUR, T0 + 3 * HOUR),
        ("bo", "bo-browser"): (T0 + 2 * HOUR, T0 + 2 * HOUR),
        ("bo", "bo-guest-account"): (T0 + 4 * HOUR, T0 + 4 * HOUR),
        ("cy", "cy-browser"): (T0 + 5 * HOUR, T0 + 5 * HOUR),
    }
