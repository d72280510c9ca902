"""The national automobile repair e-health record (JT/T 1132, layer 6 operations): one record per settled order,
queued to the provincial endpoint."""
