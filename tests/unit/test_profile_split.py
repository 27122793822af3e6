"""bench/profile_hub.py: a service's CPU time split by library, C functions counted for their callers."""
import cProfile
import sys
import time
from pathlib import Path

from marshmallow import Schema, fields

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import profile_hub  # noqa: E402


class Thing(Schema):
    name = fields.String(required=True)
    count = fields.Integer()


def test_time_is_split_by_library_and_c_functions_go_to_their_callers(tmp_path):
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    schema = Thing()
    for n in range(3000):
        schema.load({"name": f"n{n}", "count": n})
    profile.disable()
    path = tmp_path / "1-triage.prof"
    profile.dump_stats(str(path))

    groups, functions = profile_hub.split_cprofile(path)

    total = sum(groups.values())
    assert total > 0 and groups["marshmallow"] / total > 0.6, groups
    # isinstance is a C function marshmallow calls: its time counts for marshmallow
    python_level = sum(own for own, where in functions if "marshmallow" in where)
    builtin = sum(own for own, where in functions if where == "<built-in method builtins.isinstance>")
    assert builtin > 0 and groups["marshmallow"] >= python_level + 0.9 * builtin
    assert functions == sorted(functions, reverse=True)


def test_collapsed_stacks_count_by_their_innermost_frame(tmp_path):
    path = tmp_path / "triage.txt"
    path.write_text("<module> (x.py:1);load (/v/marshmallow/schema.py:9) 7\n"
                    "<module> (x.py:1);do_poll (/v/eventlet/hubs/epolls.py:31) 3\n")
    groups, leaves = profile_hub.split_collapsed(path)
    assert groups == {"marshmallow": 7, "eventlet": 3}
    assert leaves[0] == (7, "load (/v/marshmallow/schema.py:9)")
