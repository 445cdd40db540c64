"""silver.identity_graph: ids linked by any chain of identity links are one person, named by the
smallest user id among them, whatever order the links came in."""

from types import SimpleNamespace
from typing import Any

GRAPH_COLUMNS = ("person_id", "kind", "identifier", "products")


def graph(pipeline: Any) -> list[tuple[Any, ...]]:
    rows = pipeline.rows("silver.identity_graph")
    return sorted(tuple(row[c] for c in GRAPH_COLUMNS) for row in rows)


def test_a_browser_and_a_phone_install_of_one_user_are_one_person(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    kit.publish_world(pipeline)

    pipeline.run()

    assert graph(pipeline) == [
        ("ana", "anonymous", "b-ana", ["web-user-analytics"]),
        ("ana", "anonymous", "i-ana", ["mobile-user-analytics"]),
        ("ana", "user", "ana", ["mobile-user-analytics", "web-user-analytics"]),
    ]
    ana = next(row for row in pipeline.rows("silver.identity_graph") if row["identifier"] == "ana")
    assert (ana["first_linked_at"], ana["last_linked_at"]) == (
        kit.at("2026-11-17 09:00"),
        kit.at("2026-11-19 09:00"),
    )
    # Events before sign-in (the browser's s1, the install's session) count for ana too.
    features = pipeline.features()
    assert "b-ana" not in features and "i-ana" not in features
    assert features["ana"]["frequency"] == 5


def test_a_chain_of_links_joins_two_user_ids_under_the_smaller(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    # bob signed in on the family tablet, then bo (his second account) on it and on a phone.
    pipeline.publish(kit.WEB_LINKS, [kit.link("bob", "tablet"), kit.link("bo", "tablet")])
    pipeline.publish(kit.MOBILE_LINKS, [kit.link("bo", "phone"), kit.link("zed", "zed-phone")])
    pipeline.publish(kit.SESSION_EVENTS, [])
    pipeline.publish(kit.USER_DAYS, [])

    pipeline.run()

    assert sorted((row[0], row[2]) for row in graph(pipeline)) == [
        ("bo", "bo"),
        ("bo", "bob"),
        ("bo", "phone"),
        ("bo", "tablet"),
        ("zed", "zed"),
        ("zed", "zed-phone"),
    ]


def test_the_graph_is_the_same_after_a_full_refresh_and_from_scratch_in_another_order(
    pipeline: Any, kit: SimpleNamespace, tmp_path_factory: Any
) -> None:
    links = [
        kit.link("u2", "a1"),
        kit.link("u1", "a2"),
        kit.link("u2", "a2"),
        kit.link("u3", "a3"),
        kit.link("u1", "a4"),
    ]
    pipeline.publish(kit.WEB_LINKS, links)
    pipeline.publish(kit.MOBILE_LINKS, [])
    pipeline.publish(kit.SESSION_EVENTS, [])
    pipeline.publish(kit.USER_DAYS, [])
    pipeline.run()
    first = graph(pipeline)

    pipeline.run(full_refresh=True)
    again = kit.make_pipeline(tmp_path_factory.mktemp("reversed"))
    again.publish(kit.WEB_LINKS, [])
    again.publish(kit.MOBILE_LINKS, list(reversed(links)))
    again.publish(kit.SESSION_EVENTS, [])
    again.publish(kit.USER_DAYS, [])
    again.run()

    assert graph(pipeline) == first
    assert graph(again) == [(p, k, i, ["mobile-user-analytics"]) for p, k, i, _ in first]
    assert {p for p, *_ in first} == {"u1", "u3"}  # u1-a2-u2-a1 and a4: one person; u3-a3


def test_the_graph_is_published_as_gold_with_each_persons_ids(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    kit.publish_world(pipeline)

    pipeline.run()

    published = pipeline.rows("gold.identity_graph")
    assert sorted((row["person_id"], row["kind"], row["identifier"]) for row in published) == [
        ("ana", "anonymous", "b-ana"),
        ("ana", "anonymous", "i-ana"),
        ("ana", "user", "ana"),
    ]
