"""The one case-store access layer: pooled connections, units of work, migrations."""
