"""Segment ids that survive retraining: each new cluster takes the id of the previous model's
cluster whose centroid it is matched to, and clusters left over get new ids.

The matching minimises the total distance between matched centroids (the Hungarian method),
measured in standard deviations of the new data, so no feature dominates by its unit.
"""

from collections.abc import Mapping, Sequence

import numpy as np

PREFIX = "ml-"


def segment_number(segment_id: str) -> int:
    return int(segment_id.removeprefix(PREFIX))


def stable_ids(
    centroids: np.ndarray,
    scale: np.ndarray,
    previous: Mapping[str, Sequence[float]],
    next_number: int,
) -> list[str]:
    """The id of each new cluster (rows of `centroids`, in feature units).

    `previous` holds the last model's centroids by id (same features, same order), empty for a
    first model; `next_number` is the lowest number no model has used yet.
    """
    from scipy.optimize import linear_sum_assignment  # heavy: imported only when training

    ids: list[str | None] = [None] * len(centroids)
    if previous:
        old_ids = sorted(previous, key=segment_number)
        old = np.array([previous[segment_id] for segment_id in old_ids], dtype=float)
        scaled_new, scaled_old = centroids / scale, old / scale
        distances = np.linalg.norm(scaled_new[:, None, :] - scaled_old[None, :, :], axis=2)
        for new, matched in zip(*linear_sum_assignment(distances), strict=True):
            ids[new] = old_ids[matched]
    fresh = []
    for index, segment_id in enumerate(ids):
        if segment_id is None:
            fresh.append(f"{PREFIX}{next_number}")
            ids[index] = fresh[-1]
            next_number += 1
    return [str(segment_id) for segment_id in ids]
