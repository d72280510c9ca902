"""Care campaigns with a random control group: the campaigns app (layer 6, after crm and reminders)."""
