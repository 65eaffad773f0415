import pytest
import torch
from torch import nn

from helpers import latency, results

TINY_GRID = {"models": ["mobilenet_v3_small"], "variants": ((0.0, None), (0.5, None)), "batches": (1,),
             "dtypes": ("fp32",), "channels_last": (False,), "min_run_time": 0.01}


def tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


@pytest.mark.parametrize("p,round_to,name", [(0.0, None, "dense"), (0.5, None, "p=0.5"), (0.3, 8, "p=0.3, round_to=8")])
def test_variant_name(p, round_to, name):
    assert latency.variant_name(p, round_to) == name


class Recorder(nn.Module):
    """Records every input it is run on: its shape, dtype, memory format, and grad mode."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append((tuple(x.shape), x.dtype, x.is_contiguous(memory_format=torch.channels_last),
                          torch.is_grad_enabled(), self.training))
        return self.conv(x)


@pytest.mark.parametrize("dtype,channels_last", [("fp32", False), ("bf16", True)])
def test_time_forward_runs_the_settings_it_names_on_a_copy(dtype, channels_last, monkeypatch):
    model = Recorder().train()
    copies = []
    real_deepcopy = latency.copy.deepcopy
    monkeypatch.setattr(latency.copy, "deepcopy", lambda m: copies.append(real_deepcopy(m)) or copies[-1])
    m = latency.time_forward(model, batch=2, dtype=dtype, channels_last=channels_last, input_size=16,
                             min_run_time=0.01, warmup=1, min_blocks=3)
    assert model.seen == [] and len(copies) == 1  # the caller's model never ran: its copy did
    calls = copies[0].seen
    # one warm-up pass, one pass to size the blocks, then at least three blocks of passes
    assert len(calls) >= 1 + 1 + 3 and len(m.times) >= 3
    assert set(calls) == {((2, 3, 16, 16), latency.DTYPES[dtype], channels_last, False, False)}
    assert "batch 2" in m.description and dtype in m.description
    assert ("channels_last" in m.description) == channels_last
    assert model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.conv.weight.is_contiguous()


def test_time_forward_rejects_bad_settings():
    with pytest.raises(ValueError, match="dtype must be one of"):
        latency.time_forward(tiny(), dtype="int8")
    with pytest.raises(ValueError, match="positive integer"):
        latency.time_forward(tiny(), batch=0)


def test_activation_elements_counts_leaf_outputs():
    model = tiny()
    # conv, bn, relu: 8x16x16 each; pool 8; flatten 8; linear 4
    assert latency.activation_elements(model, torch.randn(1, 3, 16, 16)) == 3 * 8 * 16 * 16 + 8 + 8 + 4
    assert not any(m._forward_hooks for m in model.modules())  # hooks are removed


def test_study_rows_relate_each_variant_to_dense(monkeypatch):
    from types import SimpleNamespace

    from helpers import counting, pruning, zoo

    # a timer that answers 8 ms for the dense model and 2 ms for anything smaller: the speed-up is 4
    def fake(net, *args, **kwargs):
        ms = 8.0 if counting.n_params(net) == dense_params else 2.0
        return SimpleNamespace(median=ms / 1e3, iqr=ms / 1e4, times=[ms / 1e3] * 3)

    model, inputs, ignored = zoo.build("mobilenet_v3_small")
    dense_params = counting.n_params(model)
    monkeypatch.setattr(latency, "time_forward", fake)
    rows = latency.study(**TINY_GRID)
    assert [r["variant"] for r in rows] == ["dense", "p=0.5"]
    pruned = pruning.prune_copy(model, inputs, 0.5, ignored)
    assert rows[1]["params"] == pruned.params_after and rows[1]["macs"] == pruned.macs_after
    assert rows[1]["mac_ratio"] == pytest.approx(pruned.macs_before / pruned.macs_after)
    assert rows[1]["speedup"] == 4.0 and rows[0]["speedup"] == 1.0 and rows[1]["iqr_ms"] == pytest.approx(0.2)
    assert rows[1]["mac_ratio"] > rows[1]["activation_ratio"] > 1  # MACs shrink faster than activations
    assert set(latency.COLUMNS) <= set(rows[1])


def test_study_rejects_unknown_dtypes_before_building():
    with pytest.raises(ValueError, match="dtype"):
        latency.study(models=["mobilenet_v3_small"], dtypes=("fp8",))


def test_device_tag_names_a_gpu_in_a_file_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "NVIDIA H100 80GB HBM3")
    assert latency.device_tag("cuda") == "nvidia-h100-80gb-hbm3"
    assert latency.device_tag("cpu") == "cpu"


def test_record_writes_a_stamped_csv_and_a_png(tmp_path):
    result = latency.record(tmp_path, device="cpu", progress=False, **TINY_GRID)
    assert result["csv"] == tmp_path / "latency_cpu.csv" and result["png"] == tmp_path / "latency_cpu.png"
    assert result["png"].stat().st_size > 0
    stamp, rows = results.read(result["csv"])
    assert {"device", "torch", "torch-pruning", "date"} <= set(stamp)
    assert stamp["device"].startswith("CPU")
    assert len(rows) == 2 and rows[1]["variant"] == "p=0.5"
    assert rows[1]["params"] == result["rows"][1]["params"]
    assert rows[1]["round_to"] is None and rows[1]["channels_last"] is False
    assert rows[1]["mac_ratio"] == pytest.approx(result["rows"][1]["mac_ratio"], rel=1e-5)


def test_recorded_lists_gpu_records_only(tmp_path):
    for name in ("latency_cpu.csv", "latency_nvidia-h100-80gb-hbm3.csv", "other.csv"):
        (tmp_path / name).write_text("# device: x\n")
    assert [p.name for p in latency.recorded(tmp_path)] == ["latency_nvidia-h100-80gb-hbm3.csv"]
    assert len(latency.recorded(tmp_path, gpu_only=False)) == 2


def test_plot_has_one_panel_per_model():
    rows = [{"model": m, "variant": v, "batch": 1, "dtype": "fp32", "channels_last": False,
             "speedup": s, "mac_ratio": r} for m in ("a", "b") for v, s, r in (("dense", 1.0, 1.0), ("p=0.5", 1.5, 3.0))]
    fig = latency.plot(rows)
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("speedup,mac_ratio,f", [(4.0, 4.0, 0.0), (1.0, 4.0, 1.0), (2.0, 4.0, 1 / 3)])
def test_fixed_fraction_inverts_the_speedup_model(speedup, mac_ratio, f):
    assert latency.fixed_fraction(speedup, mac_ratio) == pytest.approx(f)
    assert 1 / (f + (1 - f) / mac_ratio) == pytest.approx(speedup)


def test_fixed_fraction_needs_fewer_macs():
    with pytest.raises(ValueError, match="no fixed fraction"):
        latency.fixed_fraction(1.2, 1.0)
