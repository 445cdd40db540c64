"""silver.sessions on hand-made cases, one user per case, all in one lake run twice."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MODELS = ["silver.app_events", "silver.sessions"]


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


@pytest.fixture(scope="module")
def sessions(new_pipeline: Callable[..., Any], app_event: Callable[..., Any]) -> dict[str, Any]:
    """Sessions after the first batch and after a second one holding a late event."""
    pipeline = new_pipeline()

    def of(user: str, device: str, **fields: Any) -> Callable[..., Any]:
        return lambda event_id, at, *a, **kw: app_event(
            event_id, at, *a, user=user, install=f"{user}-install", device=device, **fields, **kw
        )

    gap = of("gap-user", "gap-phone")
    sdk = of("sdk-user", "sdk-phone", session="sdk-1")
    duo_phone = of("duo", "duo-phone")
    duo_tablet = of("duo", "duo-tablet", os_name="Android", version="3.3.0")
    late = of("late", "late-phone")
    pipeline.send(
        [
            gap("gap-1", T0),
            gap("gap-2", T0 + minutes(29) + timedelta(seconds=59)),
            gap("gap-identify", T0 + minutes(40), None, kind="identify"),
            gap("gap-3", T0 + minutes(59) + timedelta(seconds=59)),  # exactly 30 min after gap-2
            sdk("sdk-a", T0),
            sdk("sdk-b", T0 + timedelta(hours=2)),
            duo_phone("duo-1", T0),
            duo_tablet("duo-2", T0 + minutes(1)),
            duo_phone("duo-3", T0 + minutes(2)),
            late("late-1", T0),
            late("late-3", T0 + minutes(40)),
            app_event("anon-1", T0, user=None, install="signer-install", session="sdk-2"),
            app_event(
                "signed-1",
                T0 + minutes(1),
                user="signer",
                install="signer-install",
                session="sdk-2",
            ),
        ]
    )
    pipeline.run(MODELS)
    first = pipeline.rows("silver.sessions")
    pipeline.send([late("late-2", T0 + minutes(20))])  # arrives after the run: bridges the gap
    pipeline.run(MODELS)
    return {"first": first, "second": pipeline.rows("silver.sessions")}


def of_user(rows: list[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    return sorted((r for r in rows if r["user_id"] == user), key=lambda r: r["started_at"])


def test_thirty_minutes_without_events_start_a_new_session(sessions: dict[str, Any]) -> None:
    gap = of_user(sessions["second"], "gap-user")

    # 29:59 after the first event is the same session; 30:00 after the last one is a new one.
    assert [(s["started_at"], s["ended_at"], s["events"]) for s in gap] == [
        (T0, T0 + minutes(29) + timedelta(seconds=59), 2),
        (T0 + minutes(59) + timedelta(seconds=59), T0 + minutes(59) + timedelta(seconds=59), 1),
    ]
    assert [s["from_sdk"] for s in gap] == [False, False]
    assert gap[0]["session_id"] != gap[1]["session_id"]


def test_identify_events_are_not_activity(sessions: dict[str, Any]) -> None:
    gap = of_user(sessions["second"], "gap-user")

    # The identify at 40 min neither counts as an event nor bridges the 30 minutes.
    assert sum(s["events"] for s in gap) == 3 and len(gap) == 2


def test_the_sdk_session_id_is_kept_whatever_the_gap(sessions: dict[str, Any]) -> None:
    (session,) = of_user(sessions["second"], "sdk-user")

    assert session["session_id"] == "sdk-1" and session["from_sdk"] is True
    assert (session["started_at"], session["ended_at"]) == (T0, T0 + timedelta(hours=2))
    assert (session["events"], session["duration_seconds"]) == (2, 7200.0)


def test_a_user_on_two_devices_has_a_session_on_each(sessions: dict[str, Any]) -> None:
    duo = of_user(sessions["second"], "duo")

    assert [(s["device_id"], s["platform"], s["app_version"], s["events"]) for s in duo] == [
        ("duo-phone", "ios", "3.2.0", 2),
        ("duo-tablet", "android", "3.3.0", 1),
    ]


def test_a_late_event_joins_the_two_sessions_it_falls_between(sessions: dict[str, Any]) -> None:
    before = of_user(sessions["first"], "late")
    after = of_user(sessions["second"], "late")

    assert [(s["started_at"], s["events"]) for s in before] == [(T0, 1), (T0 + minutes(40), 1)]
    assert [(s["started_at"], s["ended_at"], s["events"]) for s in after] == [
        (T0, T0 + minutes(40), 3)
    ]
    # A session keeps its id while its user, device and start stay the same.
    assert after[0]["session_id"] == before[0]["session_id"]


def test_a_sign_in_inside_an_sdk_session_splits_it_between_install_and_user(
    sessions: dict[str, Any],
) -> None:
    split = [s for s in sessions["second"] if s["session_id"] == "sdk-2"]

    assert sorted((s["user_id"], s["signed_in"], s["events"]) for s in split) == [
        ("signer", True, 1),
        ("signer-install", False, 1),
    ]


def test_the_timeout_follows_the_setting(
    new_pipeline: Callable[..., Any],
    app_event: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAPLATFORM_MOBILE_USER_ANALYTICS_SESSION_TIMEOUT_MINUTES", "10")
    pipeline = new_pipeline()  # its models read the settings now
    pipeline.send([app_event("a", T0), app_event("b", T0 + minutes(15))])

    pipeline.run(MODELS)

    assert len(pipeline.rows("silver.sessions", user_id="ana")) == 2  # one with the default 30
