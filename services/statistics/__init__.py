"""Statistics: a regional read model fed by every event, holding no personal data."""
