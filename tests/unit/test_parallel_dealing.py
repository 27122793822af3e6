"""tests/parallel.py's dealing: longest first to the least loaded job, and the files marked `whole_hub` (a hub of
service processes, up to about 30 PostgreSQL connections each) to two jobs only, so that no more than two of them
hold their connections at the same time beside the other jobs'."""
from tests import parallel


def test_whole_hub_files_are_dealt_to_two_jobs_and_the_rest_by_seconds():
    files = parallel.test_files([])
    marked = [f for f in files if parallel.whole_hub(f)]
    assert {"tests/e2e/test_faults.py", "tests/e2e/test_upgrade.py"} <= set(marked)

    groups = parallel.deal(files, 5)

    assert len(groups) == 5 and sorted(f for g in groups for f in g) == sorted(files)
    holding = [g for g in groups if any(f in g for f in marked)]
    assert len(holding) == parallel.WHOLE_HUB_JOBS == 2
    seconds = parallel.expected_seconds(files)
    loads = [sum(seconds[f] for f in g) for g in groups]
    assert max(loads) - min(loads) <= max(seconds.values())  # still balanced


def test_the_mark_is_read_from_pytestmark_only():
    assert not parallel.whole_hub("tests/unit/test_parallel_dealing.py")  # named in its text, not marked
    assert parallel.whole_hub("tests/e2e/test_faults.py::test_kill_9_of_each_service_loses_and_doubles_nothing")
