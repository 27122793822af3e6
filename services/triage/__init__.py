"""Triage: classify, weigh and route every incident, and explain each decision."""
