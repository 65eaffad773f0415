"""Benchmark: the exact predictor against pruning and counting, printed as ratios.

Per (model, p): one predictor evaluation vs one prune-and-count (copy the model, prune it, count
its parameters). Per model: a 6-ratio sweep, the predictor's build (tracing and its table of
plateaus, best of three) included, vs six prune-and-counts.

Then a MAC budget (2x fewer MACs: a 0.5 reduction) per model: the exact solver (build and
``solve(0.5, by="macs")``, its ratio then pruned for real to measure its error) vs Torch-Pruning's
usual loop (``BasePruner`` with ``pruning_ratio=1`` over ``iterative_steps``, counting MACs after each
``step()`` until they fall to the target): the reduction each reaches, its overshoot, its wall time.
"""
from __future__ import annotations

import gc
import time

import numpy as np

from .. import env, theory, zoo
from ..budget import prune_until
from ..counting import count
from ..latency import benchmark
from ..predict import ParameterModel
from ..pruning import prune_copy

LOOP_STEPS = 100  # Torch-Pruning's loop: 1% of every group's channels per step


def _prune_and_count(model, inputs, ignored, p) -> tuple[int, float]:
    start = time.perf_counter()
    params = prune_copy(model, inputs, p, ignored, count_macs=False).params_after
    return params, time.perf_counter() - start


def _solver(model, inputs, ignored, target) -> dict:
    """The exact solver on a MAC target: its time (build and solve), then a real pruning of its
    ratio for the reduction reached and the prediction's error (predicted - counted MACs)."""
    gc.collect()
    start = time.perf_counter()
    predictor = ParameterModel(model, inputs, ignored)
    p = predictor.solve(target, by="macs")
    seconds = time.perf_counter() - start
    result = prune_copy(model, inputs, p, ignored, counts_before=(predictor.macs_before, predictor.params_before))
    return {"p": p, "reached": result.mac_reduction, "error": predictor.macs(p) - result.macs_after,
            "seconds": seconds}


def mac_budget(models=None, target: float = 0.5, steps: int = LOOP_STEPS, device="auto") -> list[dict]:
    """Per model: the exact solver vs Torch-Pruning's step-and-count loop on a MAC reduction
    ``target`` (0.5: 2x fewer MACs), printed and returned as rows."""
    models = models or zoo.names()
    dev = env.device(device)
    print(f"\n{1 / (1 - target):.3g}x fewer MACs (reduction {target}): exact solver vs Torch-Pruning's loop "
          f"(BasePruner, pruning_ratio=1, iterative_steps={steps}, MACs counted after each step)")
    print(f"{'model':<20}{'solver p':>9}{'reached':>9}{'over':>8}{'error':>7}{'time (s)':>10}   "
          f"{'loop p':>7}{'steps':>6}{'reached':>9}{'over':>8}{'time (s)':>10}{'speed-up':>10}")
    rows = []
    for name in models:
        model, inputs, ignored = zoo.build(name, device=dev)
        count(model, inputs)  # warm-up: the first forward pays one-off costs
        solver = _solver(model, inputs, ignored, target)
        loop = prune_until((model, inputs, ignored), target, by="macs", steps=steps)
        row = {"model": name, "target": target, "solver": solver, "loop": loop,
               "speedup": loop["seconds"] / solver["seconds"]}
        rows.append(row)
        print(f"{name:<20}{solver['p']:>9.4f}{solver['reached']:>9.2%}{solver['reached'] - target:>+8.2%}"
              f"{solver['error']:>7d}{solver['seconds']:>10.2f}   {loop['p']:>7.2f}{loop['steps']:>6d}"
              f"{loop['reached']:>9.2%}{loop['reached'] - target:>+8.2%}{loop['seconds']:>10.2f}"
              f"{row['speedup']:>9.1f}x", flush=True)
    print(f"largest MAC error: {max(abs(r['solver']['error']) for r in rows)} MACs (goal 0); "
          f"mean |overshoot|: solver {np.mean([abs(r['solver']['reached'] - target) for r in rows]):.2%}, "
          f"loop {np.mean([abs(r['loop']['reached'] - target) for r in rows]):.2%}")
    return rows


def main(models=None, ratios=theory.SEED_RATIOS, device="auto", mac_target: float | None = 0.5) -> list[dict]:
    """Print the benchmark (``mac_target=None`` leaves out the MAC budget) and return the
    per-(model, p) rows."""
    models = models or zoo.names()
    for name in models:
        zoo.family(name)
    dev = env.device(device)
    print(f"device: {env.device_name(dev)}; torch {env.versions()['torch']}")
    print(f"{'model':<20}{'p':>5}{'predict (us)':>14}{'prune+count (ms)':>18}{'speed-up':>11}{'error':>7}")
    rows, sweeps = [], []
    for name in models:
        model, inputs, ignored = zoo.build(name, device=dev)
        count(model, inputs)  # warm-up: the first forward pays one-off costs
        builds = []
        for _ in range(3):  # the best of three: one build is short enough for a pause to double it
            gc.collect()
            start = time.perf_counter()
            predictor = ParameterModel(model, inputs, ignored)
            predictor.params(ratios[0])  # the first call builds the table of plateaus: part of the build
            builds.append(time.perf_counter() - start)
        build_s = min(builds)
        start = time.perf_counter()
        predictor.solve(0.5)
        solve_s = time.perf_counter() - start
        prune_total = 0.0
        eval_total = 0.0
        for p in ratios:
            timer = benchmark.Timer(stmt="predictor.params(p)", globals={"predictor": predictor, "p": p})
            per_eval = timer.blocked_autorange(min_run_time=0.2).median
            eval_total += per_eval
            params, prune_s = _prune_and_count(model, inputs, ignored, p)
            prune_total += prune_s
            error = predictor.params(p) - params
            rows.append({"model": name, "p": p, "predict_s": per_eval, "prune_s": prune_s,
                         "speedup": prune_s / per_eval, "error": error})
            print(f"{name:<20}{p:>5.2f}{per_eval * 1e6:>14.0f}{prune_s * 1e3:>18.0f}"
                  f"{prune_s / per_eval:>10.0f}x{error:>7d}", flush=True)
        sweep_pred = build_s + eval_total
        sweeps.append({"model": name, "build_s": build_s, "solve_s": solve_s, "predict_sweep_s": sweep_pred,
                       "prune_sweep_s": prune_total, "speedup": prune_total / sweep_pred})
    print(f"\n{len(ratios)}-ratio sweep, predictor build included:")
    print(f"{'model':<20}{'build (s)':>10}{'solve(0.5) (ms)':>16}{'predictor (s)':>15}{'prune+count (s)':>17}"
          f"{'speed-up':>10}")
    for s in sweeps:
        print(f"{s['model']:<20}{s['build_s']:>10.2f}{s['solve_s'] * 1e3:>16.1f}{s['predict_sweep_s']:>15.2f}"
              f"{s['prune_sweep_s']:>17.2f}{s['speedup']:>9.1f}x")
    print(f"\nper evaluation: min {min(r['speedup'] for r in rows):.0f}x, "
          f"median {sorted(r['speedup'] for r in rows)[len(rows) // 2]:.0f}x (goal >= 100x)")
    print(f"per sweep: min {min(s['speedup'] for s in sweeps):.1f}x (goal >= 10x)")
    print(f"largest error: {max(abs(r['error']) for r in rows)} parameters (goal 0)")
    if mac_target is not None:
        mac_budget(models, mac_target, device=device)
    return rows
