"""Patron identity service: identity graph, matching, duplicate review, merges, connectors."""
