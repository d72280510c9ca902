"""Technicians' grades with history, certificates (HV electrician, OEM tiers) with expiry alerts, training records
(SPEC §7, layer 3 beside notifications)."""
