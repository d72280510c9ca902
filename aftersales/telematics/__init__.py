"""Connected-car events (SPEC §9, layer 6 operations, after rescue): GB/T 32960-style EV data and OBD codes, rules
turning events into alerts, reminders, rescue leads."""
