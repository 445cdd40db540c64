"""gold.user_features on the small world of conftest.py, every figure counted by hand there."""

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from user_segmentation.features import FEATURES
from user_segmentation.product import product

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the newest event
AS_OF = date(2026, 11, 20)  # its UTC day
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
    assert {f["as_of"] for f in features.values()} == {AS_OF}


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
    # Home 2 and Product 1 + 1 (install and user), then Cart and Search once each: by name.
    assert ana["top_screens"] == ["Home", "Product", "Cart"]
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
    assert cy["top_screens"] == []
    assert cy["active_days"] == 1
    assert cy["funnel_step"] == 1  # the product page came before the home page


def test_someone_last_seen_before_the_window_counts_nothing_in_it(features: Features) -> None:
    dee = features["dee"]

    assert dee["recency_days"] == 50  # last seen 2026-10-01, as_of 11-20
    assert (dee["frequency"], dee["events"], dee["purchases"], dee["monetary"]) == (0, 0, 0, 0.0)
    assert dee["mobile_share"] is None  # no events in the window
    assert dee["sessions_per_week"] == 0
    assert (dee["active_days"], dee["funnel_step"], dee["top_pages"]) == (0, 0, [])
    assert dee["top_screens"] == []  # Home 4 times, before the window
    assert dee["last_platform"] == "mobile"


def test_someone_first_seen_before_the_window_counts_only_their_days_in_it(
    features: Features,
) -> None:
    eve = features["eve"]

    assert eve["first_seen"] == at("2026-10-10 10:00")
    assert eve["recency_days"] == 19  # last seen 11-01, as_of 11-20
    # 10-25 and 11-01: 1 + 2 sessions, 3 + 6 events; 10-10's 2 sessions and 6 events are out.
    assert (eve["frequency"], eve["events"], eve["mobile_share"]) == (3, 9, 1.0)
    assert eve["active_days"] == 2
    assert eve["top_screens"] == ["Home", "Settings"]  # Settings 5 times on 10-10: out


def test_a_shorter_window_drops_what_falls_out_of_it(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    kit: SimpleNamespace,
) -> None:
    # 2 days: 11-19 and 11-20 hold ana's web s2 and her app day 11-20, not s1 nor 11-17.
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_FEATURE_WINDOW_DAYS", "2")
    pipeline = kit.make_pipeline(tmp_path_factory.mktemp("short"))
    kit.publish_world(pipeline)
    # fay's 11-18 13:00 is less than 2 days before as_of, but on a day before the window.
    fay = [
        kit.app_day("fay", first="2026-11-18 13:00", last="2026-11-18 14:00", sessions=1, events=2),
        kit.app_day("fay", first="2026-11-19 00:00", last="2026-11-19 00:05", sessions=1, events=1),
    ]
    pipeline.publish(kit.USER_DAYS, [*kit.USER_DAYS_ROWS, *fay])

    pipeline.run()
    ana, fay_features = pipeline.features()["ana"], pipeline.features()["fay"]

    assert (ana["frequency"], ana["events"], ana["monetary"]) == (2, 6, 70.0)  # web 3, app 3
    assert ana["sessions_per_week"] == pytest.approx(2 * 7 / 2)
    assert ana["active_days"] == 2  # 11-19 (web) and 11-20 (app)
    assert ana["top_screens"] == ["Cart"]
    assert ana["funnel_step"] == 0  # the window starts after her visit to /
    assert ana["as_of"] == AS_OF
    assert (fay_features["frequency"], fay_features["events"]) == (1, 1)
    assert fay_features["active_days"] == 1


def test_rules_name_every_scalar_feature_of_the_model_with_its_kind() -> None:
    # The registry rules check names against (features.py) follows the model's header.
    model = next(m for m in product.model_list() if m.name == "gold.user_features")
    types = {name: str(spec.type) for name, spec in model.header.columns.items()}
    kind_of_type = {"bigint": "number", "double": "number", "varchar": "text", "boolean": "boolean"}

    assert {name: kind_of_type[types[name]] for name in FEATURES} == FEATURES
    # What rules leave out: ids, times and the lists.
    assert {name: types[name] for name in types.keys() - FEATURES.keys()} == {
        "person_id": "varchar",
        "first_seen": "timestamptz",
        "last_seen": "timestamptz",
        "as_of": "date",
        "top_pages": "varchar[]",
        "top_screens": "varchar[]",
    }
