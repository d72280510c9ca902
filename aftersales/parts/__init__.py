"""Parts ledger (SPEC §9, layer 4): catalogue, stock per store, goods receipts with batches, issues to order lines,
returns, stocktakes, traceability."""
