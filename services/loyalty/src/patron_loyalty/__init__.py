"""Patron loyalty service: points ledger and lots, tiers, fidelity cards, store credit."""
