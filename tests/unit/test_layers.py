"""The rules of the house on imports hold (import-linter contracts in pyproject.toml): a new leak fails here."""
from importlinter.cli import lint_imports

from shared.config import REPO_ROOT


def test_the_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    code = lint_imports(config_filename=str(REPO_ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_the_registry_knows_every_service_by_its_name():
    from shared.names import PORTS, SERVICES

    from hub.registry import SERVICES as REGISTERED, service_class

    assert tuple(REGISTERED) == SERVICES == tuple(PORTS)
    for name in SERVICES:
        assert service_class(name).name == name


def test_each_service_is_a_thin_shell_over_its_handlers():
    """service.py receives and answers (at most 250 lines); a use case is a function in handlers.py; no
    function of either is longer than 40 lines."""
    import ast

    from shared.names import SERVICES

    too_long = []
    for name in SERVICES:
        folder = REPO_ROOT / "services" / name
        assert (folder / "handlers.py").exists(), f"services/{name} has no handlers.py"
        shell = (folder / "service.py").read_text()
        if len(shell.splitlines()) > 250:
            too_long.append(f"services/{name}/service.py: {len(shell.splitlines())} lines")
        for module in ("service.py", "handlers.py"):
            for node in ast.walk(ast.parse((folder / module).read_text())):
                if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno >= 40:
                    too_long.append(f"services/{name}/{module}: {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []
