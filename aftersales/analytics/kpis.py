"""Imports every module that registers KPIs in the catalogue (see catalogue.py)."""
