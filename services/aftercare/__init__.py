"""Aftercare: opvang en nazorg — a care plan with contact moments for every victim."""
