"""The main job: the quick-reference table measured on real CNNs, and on transformers, next to the
rule and the exact prediction, written to figures/ as records (CSV), markdown and PNG figures."""
from __future__ import annotations

import time

from .. import env, report, results, sweep, theory, zoo
from ..predict import ParameterModel
from ..report import format_table

TABLE_MD = "reproduce_table.md"
TABLE_CSV = "reproduce_table.csv"
README_CSV = "reproduce_readme_config.csv"
TRANSFORMER_CSV = "reproduce_transformers.csv"
TRANSFORMER_COLUMNS = ["model", "setting", "channel_ratio", "params_before", "params_after",
                       "predicted_params_after", "param_reduction", "predicted_reduction", "rule_reduction",
                       "output_kept", "prune_seconds"]
CURVES_PNG = "reproduce_curves.png"
SHARES_PNG = "reproduce_abc_shares.png"
ZOO_COLUMNS = ["model", "family", "channel_ratio", "params_before", "params_after", "predicted_params_after",
               "param_reduction", "predicted_reduction", "rule_reduction", "macs_before", "macs_after",
               "predicted_macs_after", "mac_reduction", "predicted_mac_reduction", "prune_seconds"]
# the zoo tables, one per count: (label, key before, measured and predicted key after, measured and
# predicted reduction)
COUNTS = {"params": ("params", "params_before", "params_after", "predicted_params_after", "param_reduction",
                     "predicted_reduction"),
          "macs": ("MACs", "macs_before", "macs_after", "predicted_macs_after", "mac_reduction",
                   "predicted_mac_reduction")}


def readme_rows(device, ratios) -> list[dict]:
    """Torch-Pruning's README configuration of ResNet-50, measured, next to the README's numbers."""
    rows = sweep.readme_sweep(device, ratios=[r for r in ratios if r in sweep.README.RATIOS])
    base = rows[0]["params"]
    printed = dict(zip(sweep.README.RATIOS, zip(sweep.README.PARAMS_M, sweep.README.MACS_G)))
    return [{"channel_ratio": r["channel_ratio"], "params_m": round(r["params"] / 1e6, 2),
             "macs_g": round(r["macs"] / 1e9, 2), "readme_params_m": printed[r["channel_ratio"]][0],
             "readme_macs_g": printed[r["channel_ratio"]][1], "param_reduction": 1 - r["params"] / base}
            for r in rows[1:]]


def markdown(zoo_rows: list[dict], readme: list[dict], ratios) -> str:
    """The quick-reference table side by side with what real CNNs give (deterministic: no timings)."""
    by_ratio = {r["channel_ratio"]: r for r in readme}
    first = [{"p": p, "rule": theory.param_reduction(p), **by_ratio.get(p, {})} for p in ratios]
    head = format_table(first, [("p", "p", ".2f"), ("rule", "rule 1-(1-p)^2", ".1%"),
                                ("params_m", "ResNet-50, README config: params (M)", ".2f"),
                                ("macs_g", "MACs (G)", ".2f"), ("param_reduction", "param reduction", ".1%")])
    return (f"{head}\n\nEvery zoo model, classifier ignored: measured parameter reduction, with the exact "
            f"prediction (made before pruning) in brackets.\n\n{zoo_table(zoo_rows, ratios, 'params')}\n\n"
            f"MAC reduction, same runs: MACs per sample as Torch-Pruning counts them "
            f"(`tp.utils.count_ops_and_params`), with the exact prediction (made before pruning) in brackets."
            f"\n\n{zoo_table(zoo_rows, ratios, 'macs')}\n")


def transformer_table(rows: list[dict], ratios) -> str:
    """The transformers, one row per (model, setting): the measured parameter reduction at each ratio
    with the exact prediction in brackets, under the rule's row; the largest count difference; and
    whether every pruned model kept its output size (classes, vocabulary)."""
    lines = [{"model": "rule 1-(1-p)^2", "setting": "", "before": "",
              **{f"p{p}": f"{theory.param_reduction(p):.1%}" for p in ratios}, "error": "", "kept": ""}]
    for model, setting in dict.fromkeys((r["model"], r["setting"]) for r in rows):
        mine = {r["channel_ratio"]: r for r in rows if (r["model"], r["setting"]) == (model, setting)}
        lines.append({"model": model, "setting": setting, "before": _size(next(iter(mine.values()))["params_before"]),
                      **{f"p{p}": f"{mine[p]['param_reduction']:.1%} ({mine[p]['predicted_reduction']:.1%})"
                         for p in ratios},
                      "error": max(abs(r["params_after"] - r["predicted_params_after"]) for r in mine.values()),
                      "kept": "yes" if all(r["output_kept"] for r in mine.values()) else "NO"})
    return format_table(lines, [("model", "model", "", "left"), ("setting", "pruned", "", "left"),
                                ("before", "params", ""), *[(f"p{p}", f"p={p:.2f}", "") for p in ratios],
                                ("error", "max error (params)", ""), ("kept", "output size kept", "")])


def transformer_markdown(rows: list[dict], ratios) -> str:
    return ("Transformers (`pruning_ratio=p` prunes every width: the hidden size, the MLP's and a decoder's "
            "head dimensions; \"heads alone\" removes ⌈p·h⌉ of every attention's h heads, a fraction ⌈p·h⌉/h, "
            "and nothing else). Measured parameter reduction, with the exact prediction (made before pruning) in "
            f"brackets; the LM head and ViT classifier are ignored.\n\n{transformer_table(rows, ratios)}\n")


def _size(n: int) -> str:
    return f"{n / 1e9:.2f}G" if n >= 1e9 else f"{n / 1e6:.2f}M"


def zoo_table(zoo_rows: list[dict], ratios, by: str = "params") -> str:
    """One row per zoo model: the measured reduction of ``by`` ("params" or "macs") at each ratio with
    the prediction in brackets, under the rule's row; the last column is the largest difference
    between predicted and measured counts after pruning."""
    label, before, after, predicted_after, reduction, predicted = COUNTS[by]
    models = [{"model": "rule 1-(1-p)^2", "before": "",
               **{f"p{p}": f"{theory.param_reduction(p):.1%}" for p in ratios}, "error": ""}]
    for name in dict.fromkeys(r["model"] for r in zoo_rows):
        mine = {r["channel_ratio"]: r for r in zoo_rows if r["model"] == name}
        models.append({"model": name, "before": _size(next(iter(mine.values()))[before]),
                       **{f"p{p}": f"{mine[p][reduction]:.1%} ({mine[p][predicted]:.1%})" for p in ratios},
                       "error": max(abs(r[after] - r[predicted_after]) for r in mine.values())})
    return format_table(models, [("model", "model", "", "left"), ("before", label, ""),
                                 *[(f"p{p}", f"p={p:.2f}", "") for p in ratios],
                                 ("error", f"max error ({label})", "")])


def plot_curves(zoo_rows, predictors, out):
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(predictors)
    cols = 4
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(12, 2.6 * ((len(names) + cols - 1) // cols)),
                             sharex=True, sharey=True, squeeze=False)
    grid = np.round(np.linspace(0, 0.9, 46), 4)
    for ax, name in zip(axes.flat, names):
        report.rule_axes(ax)
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
    path = report.save(fig, CURVES_PNG, out)
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
    path = report.save(fig, SHARES_PNG, out)
    plt.close(fig)
    return path


def main(models=None, ratios=None, device="auto", readme_config=False, latency=False, out="figures",
         progress=None) -> dict:
    start = time.perf_counter()
    models = models or zoo.names("all")
    for name in models:
        zoo.family(name)  # unknown or unsupported names fail before any work
    transformers = [n for n in models if zoo.family(n) == zoo.TRANSFORMER]
    models = [n for n in models if n not in transformers]
    ratios = [round(theory.check_channel_ratio(p), 6) for p in (ratios or theory.SEED_RATIOS)]
    dev = env.device(device)
    progress = (not env.progress_disabled()) if progress is None else progress
    out_dir = results.folder(out)
    report.style()
    stamp = results.stamp(dev)
    print("# " + "; ".join(f"{k}: {v}" for k, v in stamp.items()))

    readme = readme_rows(dev, ratios) if readme_config else []
    predictors: dict[str, ParameterModel] = {}
    zoo_rows = sweep.zoo_sweep(models, ratios, dev, progress=progress, predictors=predictors)
    table = markdown(zoo_rows, readme, ratios) if models else ""
    transformer_rows = sweep.transformer_sweep(transformers, ratios, dev, progress=progress)
    if transformer_rows:
        table += ("\n" if table else "") + transformer_markdown(transformer_rows, ratios)
        results.write(out_dir / TRANSFORMER_CSV, transformer_rows, stamp, TRANSFORMER_COLUMNS)
    (out_dir / TABLE_MD).write_text(table)
    if zoo_rows:
        results.write(out_dir / TABLE_CSV, zoo_rows, stamp, ZOO_COLUMNS)
        plot_curves(zoo_rows, predictors, out_dir)
        plot_shares(predictors, out_dir)
    if readme:
        results.write(out_dir / README_CSV, readme, stamp)
    if latency:
        from .. import latency as lat

        lat.record(out_dir)
    print(table)
    written = [TABLE_MD, *([TABLE_CSV, CURVES_PNG, SHARES_PNG] if zoo_rows else []),
               *([README_CSV] if readme else []), *([TRANSFORMER_CSV] if transformer_rows else [])]
    print(f"wrote {', '.join(written)} to {out_dir} in {time.perf_counter() - start:.0f} s")
    return {"zoo": zoo_rows, "readme": readme, "transformers": transformer_rows, "markdown": table}
