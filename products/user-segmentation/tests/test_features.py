"""gold.user_features on the small world of conftest.py, every figure counted by hand there."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Features = dict[str, dict[str, Any]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace) -> Features:
    pipeline = kit.make_pipeline(tmp_path_factory.mktemp("features"))
    kit.publish_world(pipeline)
    pipeline.run()
    return pipeline.features()


def test_one_row_per_person_named_by_user_id_or_else_browser(features: Features) -> None:
    assert sorted(features) == ["ana", "b-cy", "dee", "eve"]
    assert {p: f["identified"] for p, f in features.items()} == {
        "ana": True,
        "b-cy": False,
        "dee": True,
        "eve": True,
    }
    assert {f["as_of"] for f in features.values()} == {T}


def test_ana_across_browser_install_and_user_id(features: Features) -> None:
    # Before and after sign-in, on the web (b-ana) and the app (i-ana), all of it is ana's.
    ana = features["ana"]

    assert ana["first_seen"] == at("2026-09-01 08:00")  # s0, before the window
    assert ana["last_seen"] == T
    assert ana["recency_days"] == 0
    assert ana["frequency"] == 5  # web s1, s2; app 1 session as i-ana + 2 as ana
    assert ana["monetary"] == pytest.approx(70.0)  # web 50 + app 20 EUR (30 USD left out)
    assert ana["purchases"] == 2
    assert ana["events"] == 16  # web 6 in the window; app 4 + 6
    assert ana["sessions_per_week"] == pytest.approx(5 * 7 / 30)
    assert ana["mobile_share"] == pytest.approx(10 / 16)
    assert ana["last_platform"] == "mobile"
    assert ana["top_pages"] == ["/", "/cart", "/checkout"]  # one view each: by path
    assert ana["active_days"] == 4  # 11-17 (app), 11-18, 11-19 (web), 11-20 (app)
    assert ana["funnel_step"] == 5  # / -> /products/* -> /cart -> /checkout -> purchase


def test_an_anonymous_visitor(features: Features) -> None:
    cy = features["b-cy"]

    assert (cy["first_seen"], cy["last_seen"]) == (at("2026-11-20 11:00"), at("2026-11-20 11:05"))
    assert cy["recency_days"] == 0
    assert (cy["frequency"], cy["events"], cy["purchases"], cy["monetary"]) == (1, 2, 0, 0.0)
    assert cy["mobile_share"] == 0.0
    assert cy["last_platform"] == "web"
    assert cy["top_pages"] == ["/", "/products/jacket"]
    assert cy["active_days"] == 1
    assert cy["funnel_step"] == 1  # the product page came before the home page


def test_someone_last_seen_before_the_window_counts_nothing_in_it(features: Features) -> None:
    dee = features["dee"]

    assert dee["recency_days"] == 50  # 2026-10-01 00:00 to 11-20 12:00: 50.5 days
    assert (dee["frequency"], dee["events"], dee["purchases"], dee["monetary"]) == (0, 0, 0, 0.0)
    assert dee["mobile_share"] is None  # no events in the window
    assert dee["sessions_per_week"] == 0
    assert (dee["active_days"], dee["funnel_step"], dee["top_pages"]) == (0, 0, [])
    assert dee["last_platform"] == "mobile"


def test_an_install_last_seen_in_the_window_counts_its_totals(features: Features) -> None:
    eve = features["eve"]

    assert eve["recency_days"] == 19  # 11-01 10:00 to 11-20 12:00
    assert (eve["frequency"], eve["events"], eve["mobile_share"]) == (3, 9, 1.0)
    assert eve["active_days"] == 1  # last seen in the window; first seen before it


def test_a_shorter_window_drops_what_falls_out_of_it(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    kit: SimpleNamespace,
) -> None:
    # 2 days: (11-18 12:00, 11-20 12:00] holds ana's s2 and the app user ana, not s1 nor i-ana.
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_FEATURE_WINDOW_DAYS", "2")
    pipeline = kit.make_pipeline(tmp_path_factory.mktemp("short"))
    kit.publish_world(pipeline)

    pipeline.run()
    ana = pipeline.features()["ana"]

    assert (ana["frequency"], ana["events"], ana["monetary"]) == (3, 9, 70.0)
    assert ana["sessions_per_week"] == pytest.approx(3 * 7 / 2)
    # 11-19 (web) and 11-20 (the app's last seen); its first seen (11-17) is before the window.
    assert ana["active_days"] == 2
    assert ana["funnel_step"] == 0  # the window starts after her visit to /
    assert isinstance(ana["as_of"], datetime)
