"""Intake: every way an incident comes in, stored in the municipality's own case store."""
