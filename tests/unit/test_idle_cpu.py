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
