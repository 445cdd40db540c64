"""Alerts delivered: every incident's opening and resolution sent to the configured webhooks
(setting `alert_webhooks`), once each, unless a silence covers it; each delivery recorded in
gold.alert_deliveries, failures included (status `failed`, tried again next run; `dead` after
`alert_max_attempts` tries: the dead letters)."""

from dataplatform.core.signing import signature_of
from operational_metrics.alerts._deliveries import DELIVER_ALERTS, deliver_alerts

__all__ = ["DELIVER_ALERTS", "deliver_alerts", "signature_of"]
