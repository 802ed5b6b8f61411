"""The parts of scheduled anomaly scans: inbox tracking, lock, watermark window, alerts, outbox, webhook.

The scan job itself, which sequences them with ingest and detection, is `audit_kit.app.scan.run_scan`;
see docs/scheduling.md.
"""

from __future__ import annotations

from audit_kit.scan.alerts import Alert, alert_id_for, load_alerts
from audit_kit.scan.lock import EXIT_BUSY, ScanBusyError, ScanLock
from audit_kit.scan.webhook import RetryPolicy
from audit_kit.scan.window import parse_duration

__all__ = [
    "EXIT_BUSY",
    "Alert",
    "RetryPolicy",
    "ScanBusyError",
    "ScanLock",
    "alert_id_for",
    "load_alerts",
    "parse_duration",
]
