"""bench/idle_cpu.py: PostgreSQL's processes are told apart by their titles, and a window counts a process's
CPU from its start (or birth) to its end (or its last sample)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import idle_cpu  # noqa: E402


def test_postgres_titles_name_their_line():
    kind = idle_cpu.postgres_kind
    assert kind("postgres: 15/main: checkpointer ", "mh_bench_ab") == "postgresql checkpointer"
    assert kind("postgres: walwriter", "mh_bench_ab") == "postgresql walwriter"
    assert kind("postgres: 15/main: autovacuum launcher ", "mh_bench_ab") == "postgresql autovacuum launcher"
    assert kind("postgres: autovacuum worker", "mh_bench_ab") == "postgresql autovacuum workers"
    assert kind("postgres: 15/main: autovacuum: VACUUM hub.outbox", "mh_bench_ab") == "postgresql autovacuum workers"
    assert kind("postgres: 15/main: postgres mh_bench_ab_gm1000 [local] idle", "mh_bench_ab") == \
        "postgresql backends of the hub's databases"
    assert kind("postgres: postgres mh_bench_zz_gm1000 127.0.0.1(5000) idle", "mh_bench_ab") == \
        "postgresql other backends"


def test_a_window_counts_a_service_process_and_the_machine():
    cpu = idle_cpu.ProcessCpu({"this test": os.getpid()}, None, None, "mh_bench_ab")
    sum(i * i for i in range(300_000))  # some CPU of this process
    lines = cpu.figures(1.0)
    assert lines["service this test"] >= 0
    assert lines["machine (every process)"] >= lines["service this test"]
    assert "postgresql exited children, unsampled" not in lines  # no server on this machine was named


def test_the_hub_share_is_its_processes_and_the_rest_is_the_machines():
    import scale_bench

    window = {"idle_cpu_percent_services": 0.9, "idle_cpu_percent_postgresql_background": 0.1,
              "idle_cpu_percent_postgresql_hub_backends": 0.05, "idle_cpu_percent_postgresql_exited_children": 0.2,
              "idle_cpu_percent_postgresql_other_backends": 0.5, "idle_cpu_percent_rabbitmq": 1.25,
              "machine_cpu_idle_percent": 6.5}
    shares = scale_bench.hub_share(window)
    assert round(shares["hub_cpu_idle_percent"], 2) == 2.5  # another user's backends are not the hub's
    assert round(shares["machine_cpu_idle_percent_not_hub"], 2) == 4.0
