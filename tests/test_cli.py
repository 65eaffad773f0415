"""Bad arguments exit non-zero with a one-line reason, never a traceback."""
import os
import subprocess
import sys

import pytest
import torch

from helpers import results, zoo
from helpers.tooling.cli import main


def run(*args):
    env = dict(os.environ, COURSE_NO_PROGRESS="1")
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.mark.parametrize("args,reason", [
    (["reproduce", "--ratios", "0.2,1.5"], r"[0, 1)"),
    (["reproduce", "--ratios", "0.2,abc"], "number"),
    (["reproduce", "--models", "resnet19"], "unknown model 'resnet19'"),
    (["reproduce", "--models", "shufflenet_v2_x1_0"], "channel shuffle"),
    (["reproduce", "--colour"], "unrecognized arguments: --colour"),
    (["reproduce", "--device", "tpu"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    (["notebooks", "99"], "no notebook matches"),
    (["reproduce", "--models", ","], "at least one name"),
    (["reproduce", "--ratios", ","], "at least one channel ratio"),
    (["latency", "--batches", "0"], "positive integers"),
    (["latency", "--models", "resnet19"], "unknown model 'resnet19'"),
    (["latency", "--modes", "eager,jit"], "mode must be one of eager, fused, compiled"),
    (["latency", "--dtypes", "int8"], "dtype must be one of"),
    (["latency", "--layouts", "nhwc"], "contiguous or channels_last"),
    (["latency", "--min-run-time", "0"], "must be positive"),
])
def test_bad_arguments(args, reason, capsys, monkeypatch):
    """In-process (the entry point itself is run as a subprocess below): exit code 2, one line."""
    monkeypatch.setenv("COURSE_NO_PROGRESS", "1")
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], err


def test_bad_arguments_through_the_entry_point():
    done = run("reproduce", "--models", "resnet19")
    assert done.returncode == 2
    assert done.stderr.strip() == "python -m helpers reproduce: error: unknown model 'resnet19'; pick one of: " \
        + ", ".join(zoo.names("all")), done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_gpu_is_one_line(capsys):
    assert main(["reproduce", "--device", "cuda", "--models", "resnet18"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_reproduce_small_run(tmp_path):
    done = run("reproduce", "--models", "resnet18", "--ratios", "0.5", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "| resnet18 | 11.69M | 73.9% (73.9%) | 0 |" in done.stdout
    assert "| model | MACs | p=0.50 | max error (MACs) |" in done.stdout
    assert "| resnet18 | 1.82G | 73.3% (73.3%) | 0 |" in done.stdout
    for name in ("reproduce_table.md", "reproduce_table.csv", "reproduce_curves.png", "reproduce_abc_shares.png"):
        assert (tmp_path / name).stat().st_size > 0
    stamp, rows = results.read(tmp_path / "reproduce_table.csv")
    assert stamp["device"].startswith("CPU") and stamp["torch-pruning"]
    assert [(r["model"], r["channel_ratio"], r["params_after"]) for r in rows] == [("resnet18", 0.5, 3_055_880)]
    # measured by Torch-Pruning's counter after pruning, predicted before it: the same integer
    assert [(r["macs_before"], r["macs_after"], r["predicted_macs_after"]) for r in rows] == \
        [(1_822_177_768, 487_202_536, 487_202_536)]
    assert rows[0]["mac_reduction"] == rows[0]["predicted_mac_reduction"]
