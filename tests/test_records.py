"""The one format of recorded results: a stamp of ``# key: value`` lines above a CSV table."""
import pytest

from helpers import env
from helpers.tooling import paths, records


def test_round_trip_keeps_types_and_stamp(tmp_path):
    rows = [{"model": "resnet18", "p": 0.1, "params": 9_481_588, "round_to": None, "cl": True},
            {"model": "vgg16_bn", "p": 0.18999999999999995, "params": 7, "round_to": 8, "cl": False}]
    stamp = env.stamp()
    path = records.write(tmp_path / "r.csv", rows, stamp)
    assert path.read_text().startswith(f"# device: {stamp['device']}\n")
    assert records.read(path) == (stamp, rows)


def test_columns_choose_and_order(tmp_path):
    path = records.write(tmp_path / "r.csv", [{"a": 1, "b": 2, "c": 3}], columns=["c", "a"])
    assert records.read(path) == ({}, [{"c": 3, "a": 1}])


def test_merge_replaces_rows_with_the_same_key(tmp_path):
    path = tmp_path / "times.csv"
    records.merge(path, [{"nb": "01", "mode": "quick", "s": 4.0}, {"nb": "00", "mode": "quick", "s": 5.0}],
                  ("nb", "mode"))
    records.merge(path, [{"nb": "01", "mode": "quick", "s": 3.5}, {"nb": "01", "mode": "full", "s": 9.0}],
                  ("nb", "mode"))
    _, rows = records.read(path)
    assert [(r["nb"], r["mode"], r["s"]) for r in rows] == [("00", "quick", 5.0), ("01", "full", 9.0),
                                                            ("01", "quick", 3.5)]


def test_bad_records_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        records.write(tmp_path / "r.csv", [])
    with pytest.raises(ValueError, match="one line"):
        records.write(tmp_path / "r.csv", [{"a": 1}], {"note": "two\nlines"})
    with pytest.raises(ValueError, match="no record"):
        records.read(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("# no separator\na\n1\n")
    with pytest.raises(ValueError, match="key: value"):
        records.read(tmp_path / "bad.csv")


@pytest.mark.parametrize("path", sorted(paths.FIGURES.rglob("*.csv")), ids=lambda p: p.name)
def test_every_committed_record_is_stamped(path):
    stamp, rows = records.read(path)
    assert rows, path
    for row in rows:  # where rows were timed separately, each carries its own stamp
        merged = {**stamp, **row}
        assert {"device", "torch", "torch-pruning", "date"} <= set(merged), path
