"""shared/timers.py: a nudged timer runs its method only when nudged, as a net, or to retry a failed run;
a configured timer without work in the region never ticks, and takes its interval from the region file."""
from types import SimpleNamespace

from shared import timers


class FakeContainer:
    service_name = "statistics"

    def __init__(self, nudges, config=None):
        self.dependencies = [nudges]
        self.config = config or {}
        self.spawned = []

    def spawn_worker(self, entrypoint, args, kwargs, handle_result):
        self.spawned.append(handle_result)


def a_timer(net_seconds=60.0):
    nudges = timers.Nudges()
    nudges.setup()
    timer = timers.NudgedTimer(1.0, net_seconds=net_seconds)
    timer.container = FakeContainer(nudges)
    timer.method_name = "refresh_counts"
    timer.setup()
    return timer, nudges


def test_the_first_tick_runs_then_only_a_nudge_runs_it():
    timer, nudges = a_timer()
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 1
    timer.handle_result(None, None, None)
    timer.worker_complete.reset()
    for _ in range(3):  # idle: no worker, but the timer's loop goes on
        timer.handle_timer_tick()
        assert timer.worker_complete.ready()
        timer.worker_complete.reset()
    assert len(timer.container.spawned) == 1
    nudges.nudge("refresh_counts")
    nudges.nudge("refresh_counts")  # many commits before a tick: one run
    timer.handle_timer_tick()
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 2


def test_the_net_runs_it_without_a_nudge(monkeypatch):
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(timers.time, "monotonic", lambda: clock.now)
    timer, _ = a_timer(net_seconds=60.0)
    timer.handle_timer_tick()
    clock.now += 59
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 1
    clock.now += 1
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 2


def test_a_failed_run_is_owed_again_at_the_next_tick():
    timer, _ = a_timer()
    timer.handle_timer_tick()
    timer.handle_result(None, None, (RuntimeError, RuntimeError("database away"), None))
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 2


def test_a_nudge_for_another_task_does_not_run_it():
    timer, nudges = a_timer()
    timer.handle_timer_tick()
    nudges.nudge("other")
    timer.handle_timer_tick()
    assert len(timer.container.spawned) == 1


def test_statistics_folds_nudge_the_refresh_and_police_webhooks_need_a_webhook():
    from services.police_liaison.service import PoliceLiaisonService
    from services.statistics.service import StatisticsService

    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    refresh = getattr(StatisticsService.refresh_counts, ENTRYPOINT_EXTENSIONS_ATTR)
    assert {type(e) for e in refresh} == {timers.NudgedTimer}
    assert isinstance(StatisticsService.nudges, timers.Nudges)
    webhooks = getattr(PoliceLiaisonService.deliver_webhooks, ENTRYPOINT_EXTENSIONS_ATTR)
    (timer,) = webhooks
    assert isinstance(timer, timers.ConfiguredTimer)
    assert not timer.wanted(SimpleNamespace(region=SimpleNamespace(options={})))
    assert timer.wanted(SimpleNamespace(region=SimpleNamespace(options={"police_liaison": {
        "webhooks": {"unit-a": {"url": "https://example.org/hook"}}}})))


def test_a_configured_timer_without_work_never_starts():
    timer = timers.ConfiguredTimer(0.5, wanted=lambda settings: False)
    timer.enabled = False
    timer.start()
    timer.stop()
    timer.kill()
    assert timer.gt is None


def test_signals_mailer_and_deliverer_tick_at_the_region_files_poll_seconds():
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from services.signals.service import SignalsService

    def bound(method, options):  # as a container binds it: a copy of the class's entrypoint
        (timer,) = getattr(getattr(SignalsService, method), ENTRYPOINT_EXTENSIONS_ATTR)
        settings = SimpleNamespace(region=SimpleNamespace(options={"signals": options}))
        containers.append(FakeContainer(None, config={"MELDPUNT_SETTINGS": settings}))  # bind keeps a weak one
        timer = timer.bind(containers[-1], method)
        timer.setup()
        return timer

    containers = []
    options = {"mail": {"poll_seconds": 7.0}, "partners": {"poll_seconds": 3.0}}
    for method, seconds in (("send_mail", 7.0), ("deliver_partners", 3.0)):
        timer = bound(method, options)
        assert isinstance(timer, timers.ConfiguredTimer) and timer.eager
        assert (timer.interval, timer.enabled) == (seconds, True), method
    # no mail server: the mailer still ticks, at the default, and finds nothing to send (docs/signals.md)
    assert bound("send_mail", {"mail": None, "partners": {"poll_seconds": 2.0}}).interval == 2.0
