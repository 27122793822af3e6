"""docs/security.md's role table says exactly what PERMISSIONS in shared/auth.py decides."""
import re
from pathlib import Path

from shared.auth import PERMISSIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_role_table_matches_the_permissions():
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("| permission |")):]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    roles = header[2:]
    documented = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        match = re.fullmatch(r"`([a-z_]+:[a-z_]+)`", cells[0])
        if match:
            documented[match.group(1)] = {role for role, cell in zip(roles, cells[2:]) if cell == "✓"}
    assert documented == {permission: set(roles) for permission, roles in PERMISSIONS.items()}


def test_the_threat_model_names_each_edge_item_of_issue_21_and_a_test_that_exists():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### The edges an attacker tests (issue 21)"):text.index("### Residual risks")]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| (\d+) [^|]*\|.*\| (`tests/[^|]+) \|$", line)
        if match:
            rows[int(match.group(1))] = re.findall(r"`(tests/[^`]+\.py)`", match.group(2))
    assert set(rows) == {8, 9, 10, 11, 13, 15, 16}
    root = DOC.parents[1]
    assert all(paths and all((root / path).is_file() for path in paths) for paths in rows.values()), rows
