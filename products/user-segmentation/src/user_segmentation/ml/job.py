"""The scheduled retraining: the `train_segments` job, every `retrain_every_seconds`."""

from collections.abc import Mapping
from typing import Any

from dataplatform.core.errors import ConflictError, NotFoundError
from dataplatform.core.jobs import Job, JobContext
from user_segmentation.ml.train import train
from user_segmentation.settings import UserSegmentationSettings


def retrain(context: JobContext[UserSegmentationSettings]) -> Mapping[str, Any]:
    """Train when the features changed since the last model; no features or too few people to
    cluster is a normal state of a young platform, reported in the summary rather than raised."""
    try:
        outcome = train(context.lake, context, "schedule", force=False)
    except (NotFoundError, ConflictError) as waiting:
        return {"status": "waiting", "reason": waiting.message}
    keep = ("status", "version", "k", "silhouette", "people")
    return {key: outcome[key] for key in keep if key in outcome}


TRAIN_SEGMENTS = Job(
    name="train_segments",
    description="Retrain the ML segments (k-means, k by silhouette) when the features changed.",
    run=retrain,
    every_setting="retrain_every_seconds",
)
