"""Reminders by date and by projected mileage: the reminders app (layer 6, after crm)."""
