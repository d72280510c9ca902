"""Background jobs of the analytics app (Huey): closed-period snapshots, early warnings, reports."""
