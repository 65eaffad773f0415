"""The benchmark runs and its predictions are exact (its speed-ups are printed, not asserted)."""
from helpers.tooling import bench


def test_bench_predicts_exactly_and_reports_ratios(capsys):
    rows = bench.main(models=["resnet18", "mobilenet_v3_small"], ratios=(0.3, 0.5))
    assert [(r["model"], r["p"]) for r in rows] == [("resnet18", 0.3), ("resnet18", 0.5),
                                                     ("mobilenet_v3_small", 0.3), ("mobilenet_v3_small", 0.5)]
    assert all(r["error"] == 0 for r in rows)
    out = capsys.readouterr().out
    assert "per sweep: min" in out and "largest error: 0 parameters" in out
