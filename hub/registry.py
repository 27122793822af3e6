"""Every service of the hub, one entry each: its name, the schema of its region options and its nameko class.

Adding a service: its name and port in shared/names.py, its folder under services/, and one line in
`SERVICES` below (with the small function importing its class). Nothing finds a service by a string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from marshmallow import Schema

from shared import config
from shared.messaging import topology
from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, SIGNALS, STATISTICS, TRIAGE, WORKBENCH, ZAAKSYSTEEM

from services.aftercare.options import OptionsSchema as AftercareOptions
from services.intake.options import OptionsSchema as IntakeOptions
from services.police_liaison.options import OptionsSchema as PoliceLiaisonOptions
from services.signals.options import OptionsSchema as SignalsOptions
from services.statistics.options import OptionsSchema as StatisticsOptions
from services.triage.options import OptionsSchema as TriageOptions
from services.workbench.options import OptionsSchema as WorkbenchOptions
from services.zaaksysteem.options import OptionsSchema as ZaaksysteemOptions


# The nameko classes are imported when first asked for, not with this module: nameko and the
# services' code take a third of a second to import, which short commands (`meldpunt apikey list`)
# need not pay. Each function is an explicit import, so the import graph (and import-linter) sees it.

def _intake():
    from services.intake.service import IntakeService
    return IntakeService


def _triage():
    from services.triage.service import TriageService
    return TriageService


def _police_liaison():
    from services.police_liaison.service import PoliceLiaisonService
    return PoliceLiaisonService


def _aftercare():
    from services.aftercare.service import AftercareService
    return AftercareService


def _statistics():
    from services.statistics.service import StatisticsService
    return StatisticsService


def _workbench():
    from services.workbench.service import WorkbenchService
    return WorkbenchService


def _signals():
    from services.signals.service import SignalsService
    return SignalsService


def _zaaksysteem():
    from services.zaaksysteem.service import ZaaksysteemService
    return ZaaksysteemService


@dataclass(frozen=True)
class Service:
    name: str
    options: type[Schema] | None  # validates the region file's section `<name>:`; None: it takes none
    load: Callable[[], type]  # the nameko service class

    @property
    def cls(self) -> type:
        return self.load()


SERVICES: dict[str, Service] = {s.name: s for s in (
    Service(INTAKE, IntakeOptions, _intake),
    Service(TRIAGE, TriageOptions, _triage),
    Service(POLICE_LIAISON, PoliceLiaisonOptions, _police_liaison),
    Service(AFTERCARE, AftercareOptions, _aftercare),
    Service(STATISTICS, StatisticsOptions, _statistics),
    Service(WORKBENCH, WorkbenchOptions, _workbench),
    Service(SIGNALS, SignalsOptions, _signals),
    Service(ZAAKSYSTEEM, ZaaksysteemOptions, _zaaksysteem),
)}

OPTIONS = {name: s.options for name, s in SERVICES.items()}


def service_class(name: str) -> type:
    """The nameko class of a service (KeyError for a name that is not one)."""
    return SERVICES[name].cls


def load_region(path=None, environ=None) -> config.Region:
    """The region file, every service's section validated by its options schema."""
    return config.load_region(path, environ, sections=OPTIONS)


def load_settings(environ=None, region_path=None) -> config.Settings:
    """The settings (MELDPUNT_* and the region file), every service's section validated."""
    return config.load_settings(environ, region_path, sections=OPTIONS)


def all_subscriptions() -> list[topology.Subscription]:
    """Every reliable event handler of every service: the consumer queues `meldpunt declare` makes."""
    return [sub for s in SERVICES.values() for sub in topology.subscriptions_of(s.cls)]


def declare(amqp_uri: str, retry_steps: int, report=lambda line: None, police_units=(), **limits) -> None:
    """Declare the whole topology of the hub's services (`meldpunt declare`), migrating queues
    of an older definition; `police_units`: the region's units, whose queues get the same."""
    topology.declare(amqp_uri, retry_steps, all_subscriptions(), report=report, police_units=police_units,
                     **limits)
