"""Mobile user analytics: App events from iOS and Android: sessions, 1-minute activity windows, DAU/WAU/MAU, retention, crashes by app version, per-user summaries."""
