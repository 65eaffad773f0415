"""The project's setup files agree with each other: versions are pinned in pins.txt alone, which the
Makefile, environment.yml and the notebooks' Colab cell read; pyproject.toml declares every package the
code imports, in ranges that hold the pins."""
import ast
import functools
import re
import sys
from importlib.metadata import distributions, packages_distributions
from pathlib import Path

import yaml
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "pins.txt"


def _name(req: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(req).name).lower()


def _pins() -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in PINS.read_text().splitlines()]
    pins = {}
    for line in filter(None, lines):
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[\w.]+", version.strip()), f"pins.txt: {line!r} is not NAME==VERSION"
        pins[_name(name)] = version.strip()
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared() -> dict[str, Requirement]:
    project = _project()
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_name(r): Requirement(r) for r in reqs}


def _env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_pins_are_declared_and_inside_pyprojects_ranges():
    declared = _declared()
    for name, version in _pins().items():
        assert name in declared, f"pins.txt pins {name}, which pyproject.toml does not declare"
        assert declared[name].specifier.contains(version), \
            f"pins.txt's {name}=={version} is outside pyproject.toml's {declared[name]}"
    for name in ("torch", "torchvision", "torch-pruning", "ruff", "nbval"):
        assert name in _pins(), f"pins.txt lacks {name}"


def test_no_version_is_pinned_outside_pins_txt():
    for req in _declared().values():
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"pyproject.toml pins {req}"
    for path in ("Makefile", "environment.yml"):
        assert not re.search(r"[\w-]==\d", (ROOT / path).read_text()), f"{path} pins a version: use pins.txt"


def test_makefile_installs_under_the_pins():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^PINS := pins\.txt$", make, re.M)
    installs = [line for line in make.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("-c $(PINS)" in line for line in installs), installs
    assert re.search(r"^PYTHON \?= python3$", make, re.M), "any python3 (3.10 or newer) builds .venv"


def test_environment_yml_installs_the_project_under_the_pins():
    env = _env()
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    version = python.removeprefix("python=")
    assert re.fullmatch(r"3\.\d+", version), python
    assert Requirement("python" + _project()["requires-python"]).specifier.contains(version), \
        f"environment.yml's {python} is outside pyproject.toml's requires-python"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c pins.txt" in pip and "-e .[dev,lab]" in pip, pip  # Binder and conda users open JupyterLab
    assert all(line.startswith(("-c ", "-e ", "--extra-index-url ")) for line in pip), \
        f"environment.yml's pip section names packages itself: {pip}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


STDLIB = set(sys.stdlib_module_names) | {"tomllib"}  # from Python 3.11 on; before it, tomli stands in


def _third_party(paths) -> dict[str, set[Path]]:
    first_party = {"helpers", "conftest", "sitecustomize"} | {p.stem for p in (ROOT / "tests").rglob("*.py")}
    found: dict[str, set[Path]] = {}
    for path in paths:
        for module in _imports(path) - STDLIB - first_party:
            found.setdefault(module, set()).add(path.relative_to(ROOT))
    return found


@functools.cache
def _packages() -> dict[str, list[str]]:
    return packages_distributions()  # reads every installed distribution: once


def _distributions(module: str) -> set[str]:
    dists = _packages().get(module) or [  # Python 3.10 reads top_level.txt alone
        d.metadata["Name"] for d in distributions() if any(f.parts[0] == module for f in d.files or ())]
    dists = dists or [module]  # not installed here: named as imported
    return {re.sub(r"[-_.]+", "-", d).lower() for d in dists}


def test_every_imported_package_is_declared():
    """What the helpers outside helpers/tooling and the notebooks import is a dependency of the course;
    what the tests, tools and tooling import is at least in an extra (dev: make test installs it)."""
    project = _project()
    runtime = {_name(r) for r in project["dependencies"]}
    declared = set(_declared())
    helpers = [p for p in (ROOT / "helpers").rglob("*.py") if "tooling" not in p.parts]
    learner = _third_party(helpers + sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")))
    for module, where in learner.items():
        assert _distributions(module) & runtime, f"{module} (imported by {sorted(map(str, where))}) " \
                                                 f"is not among pyproject.toml's dependencies"
    rest = [*(ROOT / "helpers" / "tooling").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
            *(ROOT / "tools").rglob("*.py"), ROOT / "conftest.py", ROOT / "notebooks" / "conftest.py"]
    for module, where in _third_party(rest).items():
        assert _distributions(module) & declared, f"{module} (imported by {sorted(map(str, where))}) " \
                                                  f"is not declared in pyproject.toml"


def test_tomllib_has_its_backport_before_python_311():
    if any("tomllib" in _imports(p) for d in ("helpers", "tests", "tools") for p in (ROOT / d).rglob("*.py")):
        assert any(_name(r) == "tomli" and "python_version < '3.11'" in r for r in _project()["dependencies"])


def test_ci_runs_the_readme_test_command():
    """The README's first code block is its two commands; each is a Makefile target, and CI's last
    command is the README's test command."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert commands == ["make reproduce", "make test"], commands
    targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert {"reproduce", "test"} <= set(targets)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == commands[1], f".ci/run ends with {ci[-1]!r}, not the README's {commands[1]!r}"
