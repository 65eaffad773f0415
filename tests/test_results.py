"""Recorded results: one format (a stamp of ``# key: value`` lines above a CSV table), one stamp and
one path rule (figures/, or COURSE_FIGURES_DIR; reading falls back to the committed record)."""
import os
from pathlib import Path

import pytest

from helpers import report, results


def test_records_land_in_the_repository_whatever_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_FIGURES_DIR", raising=False)
    assert results.folder() == Path(results.__file__).resolve().parent.parent / "figures"
    assert not (tmp_path / "figures").exists()
    assert os.path.isabs(results.folder("figures"))


def test_the_redirect_moves_what_a_run_writes_and_an_explicit_folder_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FIGURES_DIR", str(tmp_path / "out"))
    assert results.folder() == tmp_path / "out"
    assert results.folder("figures") == results.FIGURES
    written = results.write("demo", [{"a": 1}])
    assert written == tmp_path / "out" / "demo.csv"
    import matplotlib.pyplot as plt

    fig = plt.figure()
    assert report.save(fig, "demo_fig") == tmp_path / "out" / "demo_fig.png"
    plt.close(fig)


def test_read_prefers_this_runs_record_then_the_committed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FIGURES_DIR", str(tmp_path))
    committed = "reproduce_readme_config.csv"
    assert results.read(committed) == results.read(results.FIGURES / committed)  # not made by this run
    results.write(committed, [{"x": 1}], {"made": "here"})
    assert results.read(committed) == ({"made": "here"}, [{"x": 1}])  # this run's copy wins
    with pytest.raises(ValueError, match="no record"):
        results.read("nothing_writes_this")


def test_the_stamp_names_device_versions_mode_and_date(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    stamp = results.stamp("cpu", timer="median")
    assert list(stamp)[:1] == ["device"] and stamp["device"].startswith("CPU")
    assert stamp["torch-pruning"] == "1.6.1" and stamp["mode"] == "full" and stamp["timer"] == "median"
    assert len(stamp["date"]) == 10 and {"python", "torch", "torchvision"} <= set(stamp)


def test_round_trip_keeps_types_and_stamp(tmp_path):
    rows = [{"model": "resnet18", "p": 0.1, "params": 9_481_588, "round_to": None, "cl": True},
            {"model": "vgg16_bn", "p": 0.18999999999999995, "params": 7, "round_to": 8, "cl": False}]
    stamp = results.stamp()
    path = results.write(tmp_path / "r.csv", rows, stamp)
    assert path.read_text().startswith(f"# device: {stamp['device']}\n")
    assert results.read(path) == (stamp, rows)


def test_columns_choose_and_order(tmp_path):
    path = results.write(tmp_path / "r.csv", [{"a": 1, "b": 2, "c": 3}], columns=["c", "a"])
    assert results.read(path) == ({}, [{"c": 3, "a": 1}])


def test_merge_replaces_rows_with_the_same_key(tmp_path):
    path = tmp_path / "times.csv"
    results.merge(path, [{"nb": "01", "mode": "quick", "s": 4.0}, {"nb": "00", "mode": "quick", "s": 5.0}],
                  ("nb", "mode"))
    results.merge(path, [{"nb": "01", "mode": "quick", "s": 3.5}, {"nb": "01", "mode": "full", "s": 9.0}],
                  ("nb", "mode"))
    _, rows = results.read(path)
    assert [(r["nb"], r["mode"], r["s"]) for r in rows] == [("00", "quick", 5.0), ("01", "full", 9.0),
                                                            ("01", "quick", 3.5)]


def test_bad_records_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        results.write(tmp_path / "r.csv", [])
    with pytest.raises(ValueError, match="one line"):
        results.write(tmp_path / "r.csv", [{"a": 1}], {"note": "two\nlines"})
    with pytest.raises(ValueError, match="no record"):
        results.read(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("# no separator\na\n1\n")
    with pytest.raises(ValueError, match="key: value"):
        results.read(tmp_path / "bad.csv")


@pytest.mark.parametrize("path", sorted(results.FIGURES.rglob("*.csv")), ids=lambda p: p.name)
def test_every_committed_record_is_stamped(path):
    stamp, rows = results.read(path)
    assert rows, path
    for row in rows:  # where rows were timed separately, each carries its own stamp
        merged = {**stamp, **row}
        assert {"device", "torch", "torch-pruning", "date"} <= set(merged), path
