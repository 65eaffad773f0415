"""The project's setup files agree with each other."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(req: str) -> str:
    return re.split(r"[=<>!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pins(reqs) -> dict:
    return {_name(r): r.split("==")[1].strip() for r in reqs if "==" in r}


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    have = {_name(r) for r in pip if not r.startswith("-e")}
    assert {_name(r) for r in wanted} <= have, "environment.yml lacks packages that pyproject.toml lists"
    assert _pins(pip)["torch-pruning"] == _pins(wanted)["torch-pruning"]


def test_makefile_pins_match_environment_yml():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    make = (ROOT / "Makefile").read_text()
    for pkg in ("torch", "torchvision"):
        assert f"{pkg}=={_pins(pip)[pkg]}" in make


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make reproduce" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
