"""Patron notifications service: templates, email and SMS delivery, consent checks, campaigns."""
