"""Alerts delivered: every incident's opening and resolution sent to the configured webhooks
(setting `alert_webhooks`), once each, unless a silence covers it; each delivery recorded in
gold.alert_deliveries, failures included (status `failed`, tried again next run; `dead` after
`alert_max_attempts` tries: the dead letters)."""

from operational_metrics.alerts._deliveries import DELIVER_ALERTS, deliver_alerts
from operational_metrics.alerts._webhooks import signature_of

__all__ = ["DELIVER_ALERTS", "deliver_alerts", "signature_of"]
