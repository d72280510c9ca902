"""Tiers (RFM), tier history and the customer 360° profile: the crm app (layer 6)."""
