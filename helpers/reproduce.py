"""The main job: the quick-reference table measured on real CNNs, next to the rule and the exact
prediction, written to figures/ as CSV, markdown and PNG figures."""
from __future__ import annotations

import csv
import time
from pathlib import Path

from tqdm.auto import tqdm

from . import env, plots, readme_config, theory, zoo
from .predict import ParameterModel
from .pruning import copy_with_ignored, count, prune

TABLE_MD = "reproduce_table.md"
TABLE_CSV = "reproduce_table.csv"
README_CSV = "reproduce_readme_config.csv"
CURVES_PNG = "reproduce_curves.png"
SHARES_PNG = "reproduce_abc_shares.png"


def stamp(device) -> str:
    """The CSV header line: device, library versions and date."""
    return "; ".join(f"{k}={v}" for k, v in env.stamp(device).items())


def measure_zoo(models, ratios, device, progress=True) -> tuple[list[dict], dict]:
    """Prune every model at every ratio (classifier ignored) and predict it exactly beforehand."""
    rows, predictors = [], {}
    bar = tqdm(total=len(models) * len(ratios), desc="pruning the zoo", disable=not progress)
    for name in models:
        model, inputs, ignored = zoo.build(name, device=device)
        predictor = ParameterModel(model, inputs, ignored)
        predictors[name] = predictor
        before = count(model, inputs)
        for p in ratios:
            bar.set_postfix_str(f"{name} p={p:.2f}")
            clone, clone_ignored = copy_with_ignored(model, ignored)
            result = prune(clone, inputs, p, clone_ignored, counts_before=before)
            rows.append({
                "model": name, "family": zoo.family(name), "channel_ratio": p,
                "params_before": result.params_before, "params_after": result.params_after,
                "predicted_params_after": predictor.params(p),
                "param_reduction": result.param_reduction, "predicted_reduction": predictor.reduction(p),
                "rule_reduction": theory.param_reduction(p),
                "macs_before": result.macs_before, "macs_after": result.macs_after,
                "mac_reduction": result.mac_reduction, "prune_seconds": round(result.seconds, 3),
            })
            bar.update()
    bar.close()
    return rows, predictors


def readme_rows(device, ratios) -> list[dict]:
    results = readme_config.sweep(device, ratios=[r for r in ratios if r in readme_config.RATIOS])
    printed = dict(zip(readme_config.RATIOS, zip(readme_config.PARAMS_M, readme_config.MACS_G)))
    return [{"channel_ratio": r.channel_ratio, "params_m": round(r.params_after / 1e6, 2),
             "macs_g": round(r.macs_after / 1e9, 2), "readme_params_m": printed[r.channel_ratio][0],
             "readme_macs_g": printed[r.channel_ratio][1], "param_reduction": r.param_reduction}
            for r in results]


def markdown(zoo_rows: list[dict], readme: list[dict], ratios) -> str:
    """The quick-reference table side by side with what real CNNs give (deterministic: no timings)."""
    by_ratio = {r["channel_ratio"]: r for r in readme}
    lines = ["| p | rule 1-(1-p)^2 | ResNet-50, README config: params (M) | MACs (G) | param reduction |",
             "|---:|---:|---:|---:|---:|"]
    for p in ratios:
        r = by_ratio.get(p)
        cells = (f"{r['params_m']:.2f} | {r['macs_g']:.2f} | {r['param_reduction']:.1%}" if r
                 else "n/a | n/a | n/a")
        lines.append(f"| {p:.2f} | {theory.param_reduction(p):.1%} | {cells} |")
    lines += ["", "Every zoo model, classifier ignored: measured parameter reduction, with the exact "
              "prediction (made before pruning) in brackets.", ""]
    lines.append("| model | params | " + " | ".join(f"p={p:.2f}" for p in ratios) + " | max error (params) |")
    lines.append("|---|---:|" + "---:|" * len(ratios) + "---:|")
    lines.append("| rule 1-(1-p)^2 | | " + " | ".join(f"{theory.param_reduction(p):.1%}" for p in ratios) + " | |")
    for name in dict.fromkeys(r["model"] for r in zoo_rows):
        mine = {r["channel_ratio"]: r for r in zoo_rows if r["model"] == name}
        first = next(iter(mine.values()))
        cells = [f"{mine[p]['param_reduction']:.1%} ({mine[p]['predicted_reduction']:.1%})" for p in ratios]
        err = max(abs(r["params_after"] - r["predicted_params_after"]) for r in mine.values())
        lines.append(f"| {name} | {first['params_before'] / 1e6:.2f}M | " + " | ".join(cells) + f" | {err} |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict], header: str) -> None:
    with path.open("w", newline="") as f:
        f.write(f"# {header}\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot_curves(zoo_rows, predictors, out):
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(predictors)
    cols = 4
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(12, 2.6 * ((len(names) + cols - 1) // cols)),
                             sharex=True, sharey=True, squeeze=False)
    grid = np.round(np.linspace(0, 0.9, 46), 4)
    for ax, name in zip(axes.flat, names):
        plots.rule_axes(ax)
        ax.plot(grid, [predictors[name].reduction(p) for p in grid], color="C0", label="exact prediction")
        mine = [r for r in zoo_rows if r["model"] == name]
        ax.plot([r["channel_ratio"] for r in mine], [r["param_reduction"] for r in mine], "o", color="C3",
                markersize=4, label="measured (Torch-Pruning)")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(loc="upper left", fontsize=7)
    fig.supxlabel("channel ratio p")
    fig.supylabel("parameter reduction")
    fig.tight_layout()
    path = plots.save(fig, CURVES_PNG, out)
    plt.close(fig)
    return path


def plot_shares(predictors, out):
    import matplotlib.pyplot as plt

    names = list(predictors)
    shares = []
    for name in names:
        a, b, c = predictors[name].coefficients()
        total = a + b + c
        shares.append((a / total, b / total, c / total))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    bottom = [0.0] * len(names)
    for i, (label, color) in enumerate([("A: two pruned dims (k^2)", "C0"), ("B: one pruned dim (k)", "C1"),
                                        ("C: not pruned (1)", "C7")]):
        vals = [s[i] for s in shares]
        ax.bar(names, vals, bottom=bottom, label=label, color=color)
        bottom = [x + v for x, v in zip(bottom, vals)]
    ax.set_ylabel("share of parameters")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", rotation=60)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("params(k) = A k^2 + B k + C: the larger B and C, the further below the rule")
    fig.tight_layout()
    path = plots.save(fig, SHARES_PNG, out)
    plt.close(fig)
    return path


def main(models=None, ratios=None, device="auto", readme_config=False, latency=False, out="figures",
         progress=None) -> dict:
    start = time.perf_counter()
    models = models or zoo.names()
    for name in models:
        zoo.family(name)  # unknown or unsupported names fail before any work
    ratios = [round(float(p), 6) for p in (ratios or theory.SEED_RATIOS)]
    for p in ratios:
        theory.check_channel_ratio(p)
    dev = env.device(device)
    progress = (not env.progress_disabled()) if progress is None else progress
    out_dir = plots.figures_dir(out)
    plots.style()
    header = stamp(dev)
    print(f"# {header}")

    readme = readme_rows(dev, ratios) if readme_config else []
    zoo_rows, predictors = measure_zoo(models, ratios, dev, progress)
    table = markdown(zoo_rows, readme, ratios)
    (out_dir / TABLE_MD).write_text(table)
    write_csv(out_dir / TABLE_CSV, zoo_rows, header)
    if readme:
        write_csv(out_dir / README_CSV, readme, header)
    plot_curves(zoo_rows, predictors, out_dir)
    plot_shares(predictors, out_dir)
    if latency:
        from . import latency as lat

        lat.record(out_dir)
    print(table)
    print(f"wrote {TABLE_MD}, {TABLE_CSV}{', ' + README_CSV if readme else ''}, {CURVES_PNG}, {SHARES_PNG} "
          f"to {out_dir} in {time.perf_counter() - start:.0f} s")
    return {"zoo": zoo_rows, "readme": readme, "markdown": table}
