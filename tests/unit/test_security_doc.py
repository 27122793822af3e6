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
