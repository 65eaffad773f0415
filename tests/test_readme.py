"""The README shows what the code produces: its generated blocks match figures/, and the committed
table is what `make reproduce` generates."""
import pytest

from helpers import results, sweep, zoo
from helpers.results import FIGURES
from helpers.tooling import readme as readme_blocks
from helpers.tooling import reproduce


def test_readme_blocks_match_generated_files():
    text = readme_blocks.README.read_text()
    assert readme_blocks.expected(text) == text, "README is stale: run `python -m helpers readme`"


def test_readme_shows_the_table():
    assert (FIGURES / reproduce.TABLE_MD).read_text() in readme_blocks.README.read_text()


# `make reproduce` on a sample: ResNet-18 (the README's quick start), MobileNetV3-Small (the largest
# share of tensors that shrink like 1-p), RegNet-Y (rounded group widths, above the rule at p=0.3)
# and the small decoder (every width and heads alone), with the README's ResNet-50 configuration.
# The whole zoo takes `make reproduce` a minute and a half; the other models' committed rows are held
# by test_committed_rows_predict_params_and_macs_exactly and their counts by the zoo-wide tests.
SAMPLE = ["resnet18", "mobilenet_v3_small", "regnet_y_400mf", "llama_small"]


@pytest.mark.slow
def test_reproduce_regenerates_the_committed_records(tmp_path):
    result = reproduce.main(models=SAMPLE, readme_config=True, out=tmp_path, progress=False)
    for name in (reproduce.TABLE_CSV, reproduce.TRANSFORMER_CSV, reproduce.README_CSV):
        fresh, committed = results.read(tmp_path / name)[1], results.read(FIGURES / name)[1]
        sampled = [r for r in committed if r.get("model", SAMPLE[0]) in SAMPLE]
        assert len(sampled) == len(fresh) > 0, name

        def counts(rows):
            return [{k: v for k, v in r.items() if k != "prune_seconds"} for r in rows]  # not a count
        assert counts(fresh) == counts(sampled), f"{name} is stale: run `make reproduce`"
    # Torch-Pruning's README latency log, to the printed digit
    assert [r["params_m"] for r in result["readme"]] == list(sweep.README.PARAMS_M)
    assert [r["macs_g"] for r in result["readme"]] == list(sweep.README.MACS_G)
    assert all(r["params_after"] == r["predicted_params_after"] for r in result["zoo"])
    assert all(r["macs_after"] == r["predicted_macs_after"] for r in result["zoo"])
    assert all(r["params_after"] == r["predicted_params_after"] for r in result["transformers"])


def test_the_committed_table_is_drawn_from_the_committed_records():
    zoo_rows, transformer_rows, readme = (results.read(FIGURES / name)[1] for name in
                                          (reproduce.TABLE_CSV, reproduce.TRANSFORMER_CSV, reproduce.README_CSV))
    ratios = sorted({r["channel_ratio"] for r in zoo_rows})
    table = reproduce.markdown(zoo_rows, readme, ratios) + "\n" + reproduce.transformer_markdown(transformer_rows, ratios)
    assert table == (FIGURES / reproduce.TABLE_MD).read_text(), "run `make reproduce`"


def test_committed_rows_predict_params_and_macs_exactly():
    """Every generated row of figures/: the counts predicted before pruning equal those measured after."""
    _, rows = results.read(FIGURES / reproduce.TABLE_CSV)
    assert len({r["model"] for r in rows}) >= 12
    for r in rows:
        where = f"{r['model']} p={r['channel_ratio']}"
        assert r["params_after"] == r["predicted_params_after"], where
        assert r["macs_after"] == r["predicted_macs_after"], where
        assert r["mac_reduction"] == r["predicted_mac_reduction"], where
        assert r["macs_after"] < r["macs_before"], where
    table = (FIGURES / reproduce.TABLE_MD).read_text()
    assert "| max error (params) |" in table and "| max error (MACs) |" in table
    _, transformer_rows = results.read(FIGURES / reproduce.TRANSFORMER_CSV)
    assert {r["model"] for r in transformer_rows} == set(zoo.names("transformer"))
    for r in transformer_rows:
        assert r["params_after"] == r["predicted_params_after"] and r["output_kept"], r


def test_zoo_tables_show_a_wrong_prediction():
    """The max-error columns report a miss, so a zero there means something."""
    row = {"model": "m", "channel_ratio": 0.5, "params_before": 100, "params_after": 30,
           "predicted_params_after": 30, "param_reduction": 0.7, "predicted_reduction": 0.7,
           "macs_before": 2_000, "macs_after": 500, "predicted_macs_after": 480, "mac_reduction": 0.75,
           "predicted_mac_reduction": 0.76}
    params, macs = reproduce.zoo_table([row], [0.5], "params"), reproduce.zoo_table([row], [0.5], "macs")
    assert params.splitlines()[-1] == "| m | 0.00M | 70.0% (70.0%) | 0 |"
    assert macs.splitlines()[-1] == "| m | 0.00M | 75.0% (76.0%) | 20 |"


def test_course_map_states_each_notebooks_study_time():
    from helpers.tooling.notebooks import sources
    from helpers.tooling.readme import course_map, study_minutes

    table = course_map()
    for py in sources():
        minutes = study_minutes(py)
        assert minutes, f"{py.stem}: no study time in its title cell"
        row = next(line for line in table.splitlines() if f"notebooks/{py.stem}.ipynb" in line)
        assert f"| {minutes} min |" in row


def test_study_minutes_reads_the_title_cell(tmp_path):
    from helpers.tooling.readme import study_minutes

    (tmp_path / "nb.py").write_text("# # 99 · X\n#\n# **Study time**: about 25 min (reading).\n")
    (tmp_path / "none.py").write_text("# # 99 · X\n")
    assert study_minutes(tmp_path / "nb.py") == 25 and study_minutes(tmp_path / "none.py") is None
