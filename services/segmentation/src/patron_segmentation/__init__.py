"""Patron segmentation service: customer facts, segments, RFM, VIP, CLV/churn, analytics."""
