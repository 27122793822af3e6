"""The hub's fixed vocabulary of service names, used for exchanges, schemas and ports."""

INTAKE = "intake"
TRIAGE = "triage"
POLICE_LIAISON = "police_liaison"
AFTERCARE = "aftercare"
STATISTICS = "statistics"
WORKBENCH = "workbench"  # the staff workbench: people signed in through OpenID Connect (docs/workbench.md)
SIGNALS = "signals"  # what a named role must act on, and the mails that say so (docs/signals.md)
ZAAKSYSTEEM = "zaaksysteem"  # each case a zaak in its municipality's zaaksysteem, where it has one (ZGW; issue 24)

# Each service's default HTTP port (MELDPUNT_<SERVICE>_PORT overrides it). A new service gets its
# name and port here and its entry in hub/registry.py.
PORTS = {
    INTAKE: 8001,
    TRIAGE: 8002,
    POLICE_LIAISON: 8003,
    AFTERCARE: 8004,
    STATISTICS: 8005,
    WORKBENCH: 8006,
    SIGNALS: 8007,
    ZAAKSYSTEEM: 8008,
}

SERVICES = tuple(PORTS)
