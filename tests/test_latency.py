import time

import numpy as np
import pytest
import torch
from torch import nn

from helpers import latency, results
from helpers.latency import benchmark

TINY_GRID = {"models": ["mobilenet_v3_small"], "variants": ((0.0, None), (0.5, None)), "batches": (1,),
             "dtypes": ("fp32",), "channels_last": (False,), "modes": ("eager", "fused"), "min_run_time": 0.01}


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


def _measurement(name, times_ms):
    spec = benchmark.utils.common.TaskSpec(stmt="call()", setup="", sub_label=name)
    return benchmark.Measurement(1, [t / 1e3 for t in times_ms], spec)


def test_study_rows_relate_each_variant_to_dense(monkeypatch):
    from helpers import pruning, zoo

    # a timer that answers about 8 ms for the dense model and 2 ms for the pruned one: the speed-up is 4
    recordings = iter([{"dense": [7.9, 8.0, 8.1], "p=0.5": [1.9, 2.0, 2.1]},
                       {"dense": [8.0, 8.1, 8.2], "p=0.5": [2.1, 2.2, 2.3]}])
    monkeypatch.setattr(latency, "interleaved",
                        lambda calls, **kw: {n: _measurement(n, t) for n, t in next(recordings).items()})
    model, inputs, ignored = zoo.build("mobilenet_v3_small")
    built = latency.build_variants("mobilenet_v3_small", TINY_GRID["variants"])
    rows = latency.time_variants(built, (1,), ("fp32",), (False,), "cpu")
    assert [r["variant"] for r in rows] == ["dense", "p=0.5"]
    pruned = pruning.prune_copy(model, inputs, 0.5, ignored)
    assert rows[1]["params"] == pruned.params_after and rows[1]["macs"] == pruned.macs_after
    assert rows[1]["mac_ratio"] == pytest.approx(pruned.macs_before / pruned.macs_after)
    # the statistics: medians of each recording, and median and IQR of all six blocks together
    assert (rows[0]["ms_1"], rows[0]["ms_2"]) == (pytest.approx(8.0), pytest.approx(8.1))
    assert rows[0]["ms"] == pytest.approx(8.05) and rows[1]["ms"] == pytest.approx(2.1)
    blocks = [1.9, 2.0, 2.1, 2.1, 2.2, 2.3]
    assert rows[1]["iqr_ms"] == pytest.approx(np.quantile(blocks, 0.75) - np.quantile(blocks, 0.25))
    assert rows[1]["runs"] == 6 and rows[1]["speedup"] == pytest.approx(8.05 / 2.1) and rows[0]["speedup"] == 1.0
    assert rows[0]["stable"] is True and rows[1]["stable"] is False  # recordings 2.0 and 2.2 ms: 10% apart
    assert rows[1]["mac_ratio"] > rows[1]["activation_ratio"] > 1  # MACs shrink faster than activations
    assert set(latency.COLUMNS) <= set(rows[1])


def test_interleaved_alternates_the_order_of_every_round(monkeypatch):
    blocks = []  # one entry per Timer.timeit call: which callable it timed, and how many calls
    real = benchmark.Timer.timeit
    monkeypatch.setattr(benchmark.Timer, "timeit",
                        lambda self, number=1000000: blocks.append((self._task_spec.sub_label, number))
                        or real(self, number))
    calls = {name: (lambda: None) for name in ("dense", "pruned")}
    out = latency.interleaved(calls, min_run_time=0, warmup=2, block_time=0, min_rounds=4)
    # per callable: the warm-up and one call to size the blocks; then blocks of one call, A B, B A, ...
    assert blocks[:4] == [("dense", 2), ("dense", 1), ("pruned", 2), ("pruned", 1)]
    assert [name for name, _ in blocks[4:]] == ["dense", "pruned", "pruned", "dense", "dense", "pruned", "pruned",
                                                "dense"]
    assert {n: len(m.times) for n, m in out.items()} == {"dense": 4, "pruned": 4}
    with pytest.raises(ValueError, match="at least one"):
        latency.interleaved({})


def test_interleaved_times_each_callable_for_min_run_time(monkeypatch):
    numbers = []
    real = benchmark.Timer.timeit
    monkeypatch.setattr(benchmark.Timer, "timeit", lambda self, number=1000000: numbers.append(number)
                        or real(self, number))
    out = latency.interleaved({"a": lambda: time.sleep(0.002)}, min_run_time=0.05, warmup=0, block_time=0.005,
                              min_rounds=1)
    timed = numbers[1:]  # after the one call that sizes the blocks
    assert set(timed) == {2} and len(out["a"].times) == len(timed)  # blocks of two 2-ms calls: about 5 ms
    assert sum(timed) * min(out["a"].times) >= 0.05  # at least min_run_time in all


@pytest.mark.parametrize("ms_1,ms_2,iqr,stable", [
    (10.0, 10.4, 0.4, True),    # 4% apart, IQR 4% of the median
    (10.0, 10.5, 0.1, True),    # exactly 5% apart: within
    (10.0, 10.6, 0.1, False),   # 6% apart
    (10.0, 10.0, 0.5, False),   # IQR 5% of the median: not under it
    (10.6, 10.0, 0.1, False),   # the order of the recordings does not matter
    (10.0, None, 0.1, None),    # one recording: the agreement test cannot be applied
    (10.0, None, 0.6, False),   # ... but the IQR test can, and fails
])
def test_stability_rule(ms_1, ms_2, iqr, stable):
    median = 10.0
    assert latency.is_stable(ms_1, ms_2, median, iqr) is stable
    rows = [{"stable": stable, "i": 0}, {"stable": True, "i": 1}]
    failed, unchecked = latency.unstable(rows)
    assert failed == ([rows[0]] if stable is False else []) and unchecked == ([rows[0]] if stable is None else [])
    # a row recorded before the rule (no "stable" entry) is judged from its numbers
    old = [{"ms": median, "iqr_ms": iqr, "ms_1": ms_1, "ms_2": ms_2}]
    failed, unchecked = latency.unstable(old)
    assert (failed, unchecked) == ((old, []) if stable is False else ([], old) if stable is None else ([], []))


def test_prepare_folds_batchnorm_and_compiles(monkeypatch):
    model = tiny().eval()
    x = torch.randn(2, 3, 16, 16)
    fused = latency.prepare(model, mode="fused")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the caller's model as it was
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), atol=1e-5, rtol=1e-5)
    seen = []
    monkeypatch.setattr(torch, "compile", lambda net, **kw: seen.append(kw) or net)
    compiled = latency.prepare(model, "bf16", True, "cpu", mode="compiled")
    assert seen == [{"mode": None, "dynamic": False}]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in compiled.modules())
    assert all(p.dtype == torch.bfloat16 for p in compiled.parameters())
    with pytest.raises(ValueError, match="mode must be one of"):
        latency.prepare(model, mode="jit")


def test_fold_batchnorm_refuses_an_untraceable_model():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn(self.conv(x)) if x.sum() > 0 else x

    with pytest.raises(ValueError, match="torch.fx could not trace"):
        latency.fold_batchnorm(Branchy())


def test_best_speedups_take_each_model_at_its_fastest_mode():
    def row(variant, mode, ms):
        return {"model": "m", "variant": variant, "channel_ratio": 0.0 if variant == "dense" else 0.5, "batch": 1,
                "mode": mode, "ms": ms, "mac_ratio": 1.0 if variant == "dense" else 3.8, "activation_ratio": 2.0}

    rows = [row("dense", "eager", 10.0), row("p=0.5", "eager", 6.0), row("dense", "compiled", 8.0),
            row("p=0.5", "compiled", 5.0), row("p=0.5", "fused", 4.0)]
    (best,) = latency.best_speedups(rows)
    assert (best["dense_mode"], best["pruned_mode"]) == ("compiled", "fused")
    assert best["speedup"] == pytest.approx(2.0) and best["mac_ratio"] == 3.8
    assert best["stable"] is False  # the rows carry no stability: not counted as stable


@pytest.mark.parametrize("name,cls", [
    ("aten::mkldnn_convolution", "conv/GEMM"), ("aten::cudnn_convolution", "conv/GEMM"), ("aten::addmm", "conv/GEMM"),
    ("aten::native_batch_norm", "normalisation"), ("aten::clamp_min_", "activation"), ("aten::hardtanh_", "activation"),
    ("aten::relu", "activation"), ("aten::add_", "add"), ("aten::max_pool2d_with_indices", "pooling"),
    ("aten::adaptive_avg_pool2d", "pooling"), ("aten::copy_", "copies"), ("aten::empty", "other"),
])
def test_kernel_class(name, cls):
    assert latency.kernel_class(name) == cls


def test_profile_breakdown_of_a_small_model():
    model = tiny().eval()
    x = torch.randn(2, 3, 32, 32)
    split = latency.profile_classes(model, x, passes=2)
    assert list(split) == list(latency.CLASSES)
    assert all(split[c] > 0 for c in ("conv/GEMM", "normalisation", "activation", "pooling"))
    pruned = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(4, 4)).eval()
    entries = [{"net": net, "macs": macs, "activations": latency.activation_elements(net, x)}
               for net, macs in ((model, 100), (pruned, 50))]
    rows = latency.breakdown(*entries, x, passes=2)
    assert {r["class"] for r in rows} >= {"conv/GEMM", "normalisation", "activation"}
    assert sum(r["dense_share"] for r in rows) == pytest.approx(1.0)
    assert all(r["mac_ratio"] == 2.0 and r["activation_ratio"] == pytest.approx(
        entries[0]["activations"] / entries[1]["activations"]) for r in rows)
    for r in rows:
        assert r["time_ratio"] is None or r["time_ratio"] == pytest.approx(r["dense_ms"] / r["pruned_ms"])


@pytest.mark.parametrize("split,expected", [
    ({"conv/GEMM": 1.0}, 4.0),                       # all compute: the MAC ratio
    ({"normalisation": 1.0, "add": 1.0}, 2.0),       # all memory-bound: the activation ratio
    ({"other": 3.0}, 1.0),                           # nothing that shrinks
    ({"conv/GEMM": 2.0, "activation": 1.0, "other": 1.0}, 4.0 / (2.0 / 4 + 1.0 / 2 + 1.0)),
])
def test_two_ratio_speedup(split, expected):
    assert latency.two_ratio_speedup(split, 4.0, 2.0) == pytest.approx(expected)


def test_two_ratio_speedup_refuses_nonsense():
    with pytest.raises(ValueError, match="positive"):
        latency.two_ratio_speedup({"conv/GEMM": 1.0}, 0.0, 2.0)
    with pytest.raises(ValueError, match="no time"):
        latency.two_ratio_speedup({}, 4.0, 2.0)


def test_predict_compares_the_two_ratio_prediction_with_the_measured_speedup():
    built = latency.build_variants("mobilenet_v3_small", TINY_GRID["variants"])
    measured = [{"variant": "p=0.5", "batch": 1, "dtype": "fp32", "channels_last": False, "mode": "eager",
                 "speedup": 1.25, "ms": 1.0},
                {"variant": "dense", "batch": 1, "dtype": "fp32", "channels_last": False, "mode": "eager",
                 "speedup": 1.0, "ms": 1e4}]  # a dense time far above the profile: the rest is idle
    splits, (prediction,) = latency.predict(built, (1,), measured, device="cpu", passes=1)
    split = {r["class"]: r["dense_ms"] for r in splits}
    split["idle"] = 1e4 - sum(split.values())
    assert prediction["idle_share"] == pytest.approx(split["idle"] / 1e4)
    assert prediction["predicted"] == pytest.approx(
        latency.two_ratio_speedup(split, prediction["mac_ratio"], prediction["activation_ratio"]))
    assert prediction["measured"] == 1.25
    assert prediction["error"] == pytest.approx(prediction["predicted"] / 1.25 - 1)
    assert 0 < prediction["compute_share"] + prediction["memory_share"] <= 1


def test_conv_kernels_lists_every_convolution_with_what_ran_it():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 13, 1), nn.Conv2d(13, 13, 3, groups=13))
    rows = latency.conv_kernels(net.eval(), torch.randn(1, 3, 16, 16))
    assert [(r["layer"], r["in_channels"], r["out_channels"], r["kernel_size"], r["groups"]) for r in rows] == [
        ("0", 3, 8, "3x3", 1), ("2", 8, 13, "1x1", 1), ("3", 13, 13, "3x3", 13)]
    assert [r["multiple_of_8"] for r in rows] == [False, False, False]
    assert all(r["kernels"] and all(latency.kernel_class(k) == "conv/GEMM" for k in r["kernels"].split("; "))
               for r in rows)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())
    with pytest.raises(ValueError, match="no Conv2d"):
        latency.conv_kernels(nn.Linear(2, 2), torch.randn(1, 2))


def test_study_rejects_unknown_dtypes_before_building():
    with pytest.raises(ValueError, match="dtype"):
        latency.study(models=["mobilenet_v3_small"], dtypes=("fp8",))


def test_device_tag_names_a_gpu_in_a_file_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "NVIDIA H100 80GB HBM3")
    assert latency.device_tag("cuda") == "nvidia-h100-80gb-hbm3"
    assert latency.device_tag("cpu") == "cpu"


def test_record_writes_every_part_under_one_stamp_and_a_png(tmp_path):
    grid = {**TINY_GRID, "variants": ((0.0, None), (0.5, None), (0.3, 8))}
    result = latency.record(tmp_path, device="cpu", progress=False, **grid)
    assert result["csv"] == tmp_path / "latency_cpu.csv" and result["png"] == tmp_path / "latency_cpu.png"
    assert result["png"].stat().st_size > 0
    parts = ("modes", "best", "profile", "prediction", "kernels")
    assert {k: p.name for k, p in result["paths"].items() if k in parts} == {k: f"latency_cpu_{k}.csv" for k in parts}
    stamp, rows = results.read(result["csv"])
    assert {"device", "torch", "torch-pruning", "date", "timer", "stability"} <= set(stamp)
    assert stamp["device"].startswith("CPU")
    for k in parts:
        assert results.read(result["paths"][k])[0] == stamp  # one stamp for the whole study
    assert [r["variant"] for r in rows] == ["dense", "p=0.5", "p=0.3, round_to=8"]
    assert rows[1]["params"] == result["rows"][1]["params"]
    assert rows[1]["round_to"] is None and rows[1]["channels_last"] is False
    assert rows[1]["mac_ratio"] == pytest.approx(result["rows"][1]["mac_ratio"], rel=1e-5)
    assert all(r["stable"] in (True, False) and r["ms_2"] > 0 for r in rows)
    modes = results.read(result["paths"]["modes"])[1]
    assert sorted({r["mode"] for r in modes}) == ["eager", "fused"]
    best = results.read(result["paths"]["best"])[1]
    assert best[0]["variant"] == "p=0.5" and best[0]["speedup"] == pytest.approx(
        min(r["ms"] for r in modes if r["variant"] == "dense") / min(r["ms"] for r in modes if r["variant"] == "p=0.5"))
    predictions = results.read(result["paths"]["prediction"])[1]
    assert [p["measured"] for p in predictions] == pytest.approx([r["speedup"] for r in rows[1:]])
    kernels = results.read(result["paths"]["kernels"])[1]
    assert {r["variant"] for r in kernels} == {"p=0.3, round_to=8"} and all(r["kernels"] for r in kernels)
    assert latency.recorded(tmp_path, gpu_only=False) == [result["csv"]]
    assert latency.recorded_part(result["csv"], "kernels") == (stamp, kernels)
    result["paths"]["kernels"].unlink()
    assert latency.recorded_part(result["csv"], "kernels") is None  # a record made before that part
    with pytest.raises(ValueError, match="part must be one of"):
        latency.recorded_part(result["csv"], "grid")


def test_recorded_lists_gpu_records_only(tmp_path):
    for name in ("latency_cpu.csv", "latency_nvidia-h100-80gb-hbm3.csv", "latency_nvidia-h100-80gb-hbm3_modes.csv",
                 "other.csv"):
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


def test_study_grid_per_device():
    gpu, cpu = latency.study_grid("cuda"), latency.study_grid("cpu")
    assert gpu["batches"] == (1, 64, 256) and cpu["batches"] == (1, 8)
    assert gpu["modes_models"] == ("resnet50",) and cpu["modes_models"] == latency.STUDY_MODELS
    assert gpu["dtypes"] == cpu["dtypes"] == ("fp32", "bf16") and gpu["channels_last"] == (False, True)


def test_compiled_timing_starts_torch_compile_afresh(monkeypatch):
    resets, compiled = [], []
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(1))
    monkeypatch.setattr(torch, "compile", lambda net, **kw: compiled.append(kw) or net)
    out = latency.time_settings({"a": tiny(), "b": tiny()}, batch=1, device="cpu", mode="compiled", recordings=1,
                                input_size=16, min_run_time=0.001, warmup=1)
    assert resets == [1] and len(compiled) == 2 and out["a"]["ms_2"] is None and out["a"]["stable"] in (None, False)


@pytest.mark.slow
def test_compiled_model_runs_and_agrees_with_eager():
    """A real torch.compile on this machine (tens of seconds on a small CPU): the compiled, folded copy
    computes what the model computes, and time_settings times it."""
    model = tiny().eval()
    x = torch.randn(2, 3, 16, 16)
    compiled = latency.prepare(model, mode="compiled")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-4, rtol=1e-4)
    out = latency.time_settings({"tiny": model}, batch=2, device="cpu", mode="compiled", recordings=1, input_size=16,
                                min_run_time=0.01, warmup=1)
    assert out["tiny"]["ms"] > 0
