"""ML segments: k-means over standardised features, k by silhouette, ids stable across
retraining; trained by a job and on demand."""

from user_segmentation.ml.job import TRAIN_SEGMENTS
from user_segmentation.ml.train import model_json, train

__all__ = ["TRAIN_SEGMENTS", "model_json", "train"]
