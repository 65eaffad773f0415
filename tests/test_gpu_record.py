"""tools/gpu_record.sh, the one command that records the course on a GPU, run here as a dry run: the
same steps at toy size on the CPU, in a copy of the project (it rewrites notebooks and figures)."""
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from helpers import results

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_records_the_latency_study_and_a_notebook(tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", ".whl", "__pycache__", "*.egg-info",
                                                              ".pytest_cache", "gpu_record"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COURSE_", "NBVAL"))}
    env.update(PYTHON=sys.executable, PYTHONPATH=str(copy), NOTEBOOKS="01")
    out = tmp_path / "out"
    done = subprocess.run(["bash", "tools/gpu_record.sh", str(out), "--dry-run"], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = (copy / "gpu_record" / "steps.log").read_text()
    assert "end latency rc=0" in steps and "end notebook_01 rc=0" in steps and "done in" in steps, steps
    with tarfile.open(out / "gpu_record.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"figures/latency_cpu.csv", "figures/latency_cpu_prediction.csv", "figures/notebook_times.csv",
            "gpu_record/steps.log", "notebooks/01_counting_parameters.ipynb"} <= names, sorted(names)
    stamp, rows = results.read(copy / "figures" / "latency_cpu.csv")
    assert stamp["device"].startswith("CPU") and {r["model"] for r in rows} == {"mobilenet_v3_small"}
    times = results.read(copy / "figures" / "notebook_times.csv")[1]
    assert any(r["notebook"].startswith("01_") and r["mode"] == "quick" and r["date"] == stamp["date"] for r in times)


def test_unknown_option_is_refused(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "tools" / "gpu_record.sh"), str(tmp_path), "--fast"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "only one is --dry-run" in done.stderr


def test_a_spent_budget_skips_every_step(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COURSE_", "NBVAL"))}
    env.update(PYTHON=sys.executable, BUDGET_S="0")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copytree(ROOT / "tools", run / "tools")
    shutil.copytree(ROOT / "helpers", run / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (run / "notebooks").mkdir()
    (run / "figures").mkdir()
    env["PYTHONPATH"] = str(run)
    done = subprocess.run(["bash", "tools/gpu_record.sh", str(tmp_path / "out"), "--dry-run"], cwd=run, env=env,
                          capture_output=True, text=True, timeout=300)
    steps = (run / "gpu_record" / "steps.log").read_text()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skip latency: past the 0 s budget" in steps and "skip notebook_01" in steps and "start" not in steps
