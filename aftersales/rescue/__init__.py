"""Roadside rescue (SPEC §9, layer 6 operations): requests, nearest-store matching, dispatch, response clocks, the
group's live board."""
