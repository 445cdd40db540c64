"""User segmentation: One person across mobile and web (identity stitching), behavioural features, rule-based and ML segments."""
