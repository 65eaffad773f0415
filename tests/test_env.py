import os
from pathlib import Path

import pytest
import torch

from helpers import env, plots


def test_mode_switch(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    assert env.mode() == "full" and not env.quick()
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert env.quick()
    monkeypatch.delenv("COURSE_MODE")
    assert env.mode() == ("full" if torch.cuda.is_available() else "quick")
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match="quick' or 'full"):
        env.mode()


def test_device_choice(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert env.device("cpu").type == "cpu"
    assert env.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert env.device().type == "cpu"
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        env.device("gpu")


def test_progress_off_under_nbval(monkeypatch):
    monkeypatch.setenv("NBVAL", "1")
    assert env.progress_disabled()
    monkeypatch.setenv("NBVAL", "0")
    monkeypatch.delenv("COURSE_NO_PROGRESS", raising=False)
    assert not env.progress_disabled()


def test_versions_name_the_real_torch_pruning_release():
    assert env.versions()["torch-pruning"] == "1.6.1"


def test_figures_land_in_the_repository_whatever_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert plots.figures_dir() == Path(plots.__file__).resolve().parent.parent / "figures"
    assert not (tmp_path / "figures").exists()
    assert os.path.isabs(plots.figures_dir("figures"))


def test_figures_can_be_redirected(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FIGURES_DIR", str(tmp_path / "out"))
    assert plots.figures_dir() == tmp_path / "out"
    assert plots.figures_dir("figures") == plots.FIGURES  # an explicit folder wins
