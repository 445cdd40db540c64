"""k-means over standardised features, k chosen by silhouette within a configured range."""

from dataclasses import dataclass

import numpy as np

from dataplatform.core.errors import ConflictError

N_INIT = 10  # k-means restarts per k: the best of them is kept
# Silhouette costs n² distances: above this many people it is measured on a seeded sample.
SILHOUETTE_SAMPLE = 5000


@dataclass(frozen=True)
class Clustering:
    """The chosen k-means: its labels, and centroids in the features' own units."""

    k: int
    silhouette: float
    silhouette_by_k: dict[int, float]
    labels: np.ndarray
    centroids: np.ndarray  # one row per cluster, in feature units
    mean: np.ndarray  # of each feature, also what fills a missing value
    scale: np.ndarray  # standard deviation of each feature (1 where it is constant)


def cluster(matrix: np.ndarray, min_k: int, max_k: int, seed: int) -> Clustering:
    """Cluster the rows of `matrix` (people x features; NaN: missing) for every k from `min_k`
    to `max_k` that the data allows, and keep the k with the best silhouette (the smaller on a
    tie). Missing values take their feature's mean; every feature is then standardised."""
    from sklearn.cluster import KMeans  # heavy: imported only when training
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    imputer = SimpleImputer(strategy="mean", keep_empty_features=True)
    filled = imputer.fit_transform(matrix)
    scaler = StandardScaler()
    scaled = scaler.fit_transform(filled)
    distinct = len(np.unique(scaled, axis=0))
    # Silhouette needs 2 <= k <= people - 1, and k-means no more clusters than distinct points.
    candidates = range(min_k, min(max_k, distinct, len(scaled) - 1) + 1)
    if not candidates:
        raise ConflictError(
            f"{len(scaled)} people with {distinct} distinct feature values cannot make "
            f"{min_k} to {max_k} clusters; wait for more people, or lower `min_clusters`."
        )
    fits = {}
    scores = {}
    sample = SILHOUETTE_SAMPLE if len(scaled) > SILHOUETTE_SAMPLE else None
    for k in candidates:
        fits[k] = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(scaled)
        scores[k] = float(
            silhouette_score(scaled, fits[k].labels_, sample_size=sample, random_state=seed)
        )
    best = max(scores, key=lambda k: (scores[k], -k))
    return Clustering(
        k=best,
        silhouette=scores[best],
        silhouette_by_k=scores,
        labels=fits[best].labels_,
        centroids=scaler.inverse_transform(fits[best].cluster_centers_),
        mean=scaler.mean_,
        scale=scaler.scale_,
    )
