"""The hub's fixed vocabulary of service names, used for exchanges, schemas and ports."""

INTAKE = "intake"
TRIAGE = "triage"
POLICE_LIAISON = "police_liaison"
AFTERCARE = "aftercare"
STATISTICS = "statistics"

SERVICES = (INTAKE, TRIAGE, POLICE_LIAISON, AFTERCARE, STATISTICS)
