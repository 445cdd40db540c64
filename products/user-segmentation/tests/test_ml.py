"""ML segments: k by silhouette on hand-made blobs, ids kept across retraining, every version
stored with what it was trained on."""

import json
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import ConflictError, NotFoundError
from dataplatform.core.jobs import JobContext
from user_segmentation.ml import TRAIN_SEGMENTS, train
from user_segmentation.product import product

SETTINGS = product.settings().model_copy(
    update={"cluster_features": ["frequency", "monetary"], "min_clusters": 2, "max_clusters": 5}
)
CONTEXT = product.context(SETTINGS)
ML_ASSIGNMENTS = CONTEXT.table("gold.ml_assignments")
ML_MODELS = CONTEXT.table("gold.ml_models")
USER_FEATURES = CONTEXT.table("gold.user_features")
# Three tight blobs of four people, far apart: (frequency, monetary) around (1, 1), (10, 100)
# and (20, 10).
SQUARE = [(0, 0), (0, 1), (1, 0), (1, 1)]
BLOBS = {"a": (1, 1), "b": (10, 100), "c": (20, 10)}


def people(blobs: dict[str, tuple[float, float]], shift: float = 0.0) -> list[dict[str, Any]]:
    return [
        {
            "person_id": f"{name}{n}",
            "frequency": x + dx + shift,
            "monetary": y + dy * 10 + shift,
        }
        for name, (x, y) in blobs.items()
        for n, (dx, dy) in enumerate(SQUARE)
    ]


def publish(lake: Lakehouse, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(
        rows,
        pa.schema(
            [("person_id", pa.string()), ("frequency", pa.int64()), ("monetary", pa.float64())]
        ),
    )
    if lake.exists(USER_FEATURES):
        lake.overwrite(USER_FEATURES, table)
    else:
        lake.append(USER_FEATURES, table)


def assignments(lake: Lakehouse) -> dict[str, str]:
    return {row["person_id"]: row["segment_id"] for row in lake.read(ML_ASSIGNMENTS).to_pylist()}


def by_blob(lake: Lakehouse) -> dict[str, set[str]]:
    """Each blob's ids: one id per blob when its people stay together."""
    found: dict[str, set[str]] = {}
    for person, segment in assignments(lake).items():
        found.setdefault(person[0], set()).add(segment)
    return found


def test_three_blobs_make_three_segments_whose_ids_survive_retraining(lake: Lakehouse) -> None:
    publish(lake, people(BLOBS))

    first = train(lake, CONTEXT, "test")

    assert (first["version"], first["k"], first["people"]) == (1, 3, 12)
    assert first["silhouette"] == max(first["parameters"]["silhouette_by_k"].values())
    assert sorted(first["parameters"]["silhouette_by_k"]) == ["2", "3", "4", "5"]
    ids = by_blob(lake)
    assert all(len(segment) == 1 for segment in ids.values())
    assert set().union(*ids.values()) == {"ml-1", "ml-2", "ml-3"}
    assert first["sizes"] == {"ml-1": 4, "ml-2": 4, "ml-3": 4}

    # The same data again: the same ids for the same people.
    again = train(lake, CONTEXT, "test")
    assert again["version"] == 2
    assert by_blob(lake) == ids

    # Everyone moved a little: still matched to the clusters they were in.
    publish(lake, people(BLOBS, shift=0.5))
    shifted = train(lake, CONTEXT, "test")
    assert (shifted["version"], shifted["k"]) == (3, 3)
    assert by_blob(lake) == ids

    # A fourth blob appears: the three keep their ids, the newcomer takes the next number.
    publish(lake, people({**BLOBS, "d": (40, 300)}))
    grown = train(lake, CONTEXT, "test")
    assert grown["k"] == 4
    assert {blob: by_blob(lake)[blob] for blob in BLOBS} == ids
    assert by_blob(lake)["d"] == {"ml-4"}


def test_each_version_keeps_its_parameters_centroids_and_inputs(lake: Lakehouse) -> None:
    publish(lake, people(BLOBS))

    train(lake, CONTEXT, "api:alice")
    (model,) = lake.read(ML_MODELS).to_pylist()

    parameters = json.loads(model["parameters"])
    assert model["trigger"] == "api:alice"
    assert parameters["features"] == ["frequency", "monetary"]
    assert (parameters["min_clusters"], parameters["max_clusters"]) == (2, 5)
    assert parameters["random_seed"] == SETTINGS.random_seed
    assert json.loads(model["input_versions"]) == {USER_FEATURES: lake.version(USER_FEATURES)}
    centroids = json.loads(model["centroids"])
    blob_of = {segment: blob for blob, (segment,) in by_blob(lake).items()}
    # A blob's centroid is its people's mean: its corner + (0.5, 5).
    for segment, centroid in centroids.items():
        x, y = BLOBS[blob_of[segment]]
        assert centroid == {"frequency": pytest.approx(x + 0.5), "monetary": pytest.approx(y + 5)}


def test_the_job_trains_only_when_the_features_changed(lake: Lakehouse) -> None:
    context = JobContext.extending(CONTEXT, lake=lake)
    waiting = TRAIN_SEGMENTS.run(context)
    publish(lake, people(BLOBS))

    trained = TRAIN_SEGMENTS.run(context)
    unchanged = TRAIN_SEGMENTS.run(context)
    publish(lake, people(BLOBS, shift=1.0))
    changed = TRAIN_SEGMENTS.run(context)

    assert waiting["status"] == "waiting" and "not written yet" in waiting["reason"]
    assert (trained["status"], trained["version"], trained["k"]) == ("trained", 1, 3)
    assert unchanged == {"status": "up_to_date", "version": 1}
    assert (changed["status"], changed["version"]) == ("trained", 2)


def test_no_people_or_too_few_to_cluster_are_refused(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="is not written yet"):
        train(lake, CONTEXT, "test")
    publish(lake, [])
    with pytest.raises(NotFoundError, match="has no rows yet"):
        train(lake, CONTEXT, "test")
    # Two people make at most one cluster with a silhouette (it needs k <= people - 1).
    publish(lake, people({"a": (1, 1)})[:2])
    with pytest.raises(ConflictError, match="2 people with 2 distinct feature values cannot make"):
        train(lake, CONTEXT, "test")
    assert lake.read(ML_MODELS).num_rows == 0
