"""Predictive insights, one partition per tier view."""
