"""KPI reports (XLSX and PDF) of a store or a group for a month, quarter or year: `services.report_request`
queues a run, the worker's `services.report_produce` writes it, `services.reports_monthly` sends last month's."""
