"""The operator's day: backups and restore drills (pgBackRest), `meldpunt doctor`, and the online-safety
check of migrations. Each module is plain code the CLI wires in a few lines."""
