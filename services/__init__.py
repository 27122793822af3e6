"""The hub's five nameko services; each folder has the same few files (see docs/architecture.md)."""
