"""The benchmark runs and its predictions are exact (its speed-ups are printed, not asserted)."""
from helpers.tooling import bench


def test_bench_predicts_exactly_and_reports_ratios(capsys):
    rows = bench.main(models=["resnet18", "mobilenet_v3_small"], ratios=(0.3, 0.5), mac_target=None)
    assert [(r["model"], r["p"]) for r in rows] == [("resnet18", 0.3), ("resnet18", 0.5),
                                                     ("mobilenet_v3_small", 0.3), ("mobilenet_v3_small", 0.5)]
    assert all(r["error"] == 0 for r in rows)
    out = capsys.readouterr().out
    assert "per sweep: min" in out and "largest error: 0 parameters" in out
    assert "fewer MACs" not in out  # mac_target=None leaves the MAC budget out


def test_mac_budget_solver_is_exact_and_the_loop_reaches_the_target(capsys):
    rows = bench.mac_budget(models=["mobilenet_v3_small"], target=0.5)
    (row,) = rows
    assert row["solver"]["error"] == 0
    assert abs(row["solver"]["reached"] - 0.5) <= abs(row["loop"]["reached"] - 0.5)
    assert row["loop"]["reached"] >= 0.5 and 0 < row["loop"]["steps"] < bench.LOOP_STEPS
    out = capsys.readouterr().out
    assert "2x fewer MACs (reduction 0.5)" in out and "largest MAC error: 0 MACs" in out
