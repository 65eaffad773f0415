import pytest
import torch

from helpers import env


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


def test_for_mode_picks_the_setting_of_the_mode(monkeypatch):
    choices = {"quick": 1, "full": 2}
    monkeypatch.setenv("COURSE_MODE", "full")
    assert env.for_mode(choices) == 2 and env.for_mode(choices, "quick") == 1
    with pytest.raises(ValueError, match="mode must be one of \\['full', 'quick'\\]"):
        env.for_mode(choices, "fast")
