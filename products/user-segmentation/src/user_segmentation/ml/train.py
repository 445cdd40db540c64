"""Training the ML segments: cluster the people's features, keep segment ids stable, and store
the model version and everyone's assignment.

Run by the `train_segments` job every `retrain_every_seconds` (skipped while the features have
not changed since the last model) and by `POST /segments/models/train` (always trains). Each
version lands in gold.ml_models with its parameters, silhouette, centroids, sizes and the
version of gold.user_features it read; gold.ml_assignments is replaced by its assignments.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import ConflictError, NotFoundError
from dataplatform.core.product_context import ProductContext
from user_segmentation.ml._clustering import N_INIT, cluster
from user_segmentation.ml._stable_ids import segment_number, stable_ids
from user_segmentation.settings import UserSegmentationSettings
from user_segmentation.storage import (
    ML_ASSIGNMENTS_SCHEMA,
    ML_MODELS_SCHEMA,
    ensure_written_tables,
)

# The Delta txn app of each write: two trainings racing for one version commit it once.
MODELS_TXN = "user_segmentation.train_segments"
ASSIGNMENTS_TXN = "user_segmentation.train_segments.assignments"


def train(
    lake: Lakehouse,
    context: ProductContext[UserSegmentationSettings],
    trigger: str,
    *,
    force: bool = True,
) -> dict[str, Any]:
    """Train a new model version under `context`'s settings and tables; without `force`, only
    when the features changed since the last one. Returns the version's row (JSON columns
    parsed), or `{"status": "up_to_date"}`.

    404 when there are no features yet, 409 when too few people differ to make clusters.
    """
    settings = context.settings
    ml_models = context.table("gold.ml_models")
    user_features = context.table("gold.user_features")
    ensure_written_tables(lake, context)
    features, features_version = _features(lake, user_features)
    history = lake.read(ml_models).to_pylist()
    latest = max(history, key=lambda row: row["version"], default=None)
    inputs = {user_features: features_version}
    if not force and latest is not None and json.loads(latest["input_versions"]) == inputs:
        return {"status": "up_to_date", "version": latest["version"]}
    names = list(settings.cluster_features)
    matrix = np.array(
        [features.column(name).to_numpy(zero_copy_only=False) for name in names], dtype=float
    ).T
    clustering = cluster(matrix, settings.min_clusters, settings.max_clusters, settings.random_seed)
    ids = stable_ids(
        clustering.centroids,
        clustering.scale,
        _comparable_centroids(latest, names),
        1 + max((_highest_number(row) for row in history), default=0),
    )
    version = 1 if latest is None else latest["version"] + 1
    people = features.column("person_id").to_pylist()
    assigned = [ids[label] for label in clustering.labels]
    row = {
        "version": version,
        "trained_at": datetime.now(UTC),
        "trigger": trigger,
        "people": len(people),
        "k": clustering.k,
        "silhouette": clustering.silhouette,
        "parameters": json.dumps(
            {
                "algorithm": "k-means",
                "features": names,
                "min_clusters": settings.min_clusters,
                "max_clusters": settings.max_clusters,
                "random_seed": settings.random_seed,
                "n_init": N_INIT,
                "missing_values": "feature mean",
                "standardised_with": {
                    "mean": clustering.mean.tolist(),
                    "scale": clustering.scale.tolist(),
                },
                "silhouette_by_k": {str(k): s for k, s in clustering.silhouette_by_k.items()},
            }
        ),
        "centroids": json.dumps(
            {
                segment_id: dict(zip(names, centroid.tolist(), strict=True))
                for segment_id, centroid in zip(ids, clustering.centroids, strict=True)
            }
        ),
        "sizes": json.dumps({segment_id: assigned.count(segment_id) for segment_id in ids}),
        "input_versions": json.dumps(inputs),
    }
    written = lake.append(
        ml_models, pa.Table.from_pylist([row], ML_MODELS_SCHEMA), txn=Txn(MODELS_TXN, version)
    )
    if written.skipped:
        raise ConflictError(
            f"Another training committed model version {version} first; list "
            "GET /segments/models to see it, or train again."
        )
    assignments = pa.Table.from_pydict(
        {"person_id": people, "segment_id": assigned, "model_version": [version] * len(people)},
        ML_ASSIGNMENTS_SCHEMA,
    )
    lake.overwrite(
        context.table("gold.ml_assignments"), assignments, txn=Txn(ASSIGNMENTS_TXN, version)
    )
    return {"status": "trained", **model_json(row)}


def model_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A gold.ml_models row with its JSON columns as objects."""
    parsed = dict(row)
    for column in ("parameters", "centroids", "sizes", "input_versions"):
        parsed[column] = json.loads(row[column])
    return parsed


def _features(lake: Lakehouse, user_features: str) -> tuple[pa.Table, int]:
    if not lake.exists(user_features):
        raise NotFoundError(
            f"No features to train on: `{user_features}` is not written yet; the product's "
            "models write it once the mobile and web products have published their gold tables."
        )
    snapshot = lake.table(user_features)
    features = snapshot.to_pyarrow_table()
    if features.num_rows == 0:
        raise NotFoundError(f"No people to train on: `{user_features}` has no rows yet.")
    return features, snapshot.version()


def _comparable_centroids(
    latest: Mapping[str, Any] | None, names: list[str]
) -> dict[str, list[float]]:
    """The latest model's centroids by id, when it clustered the same features (else none: a
    model over other features has nothing to match)."""
    if latest is None or json.loads(latest["parameters"])["features"] != names:
        return {}
    centroids = json.loads(latest["centroids"])
    return {
        segment_id: [values[name] for name in names] for segment_id, values in centroids.items()
    }


def _highest_number(row: Mapping[str, Any]) -> int:
    return max((segment_number(segment_id) for segment_id in json.loads(row["sizes"])), default=0)
