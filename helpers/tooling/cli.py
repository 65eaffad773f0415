"""Command line: ``python -m helpers reproduce|bench|latency|notebooks|readme``. Bad arguments exit
non-zero with a one-line reason."""
from __future__ import annotations

import argparse
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block, exit code 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _names(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"give at least one name, got {text!r}")
    return names


def _ratio_list(text: str) -> list[float]:
    from ..theory import check_channel_ratio

    try:
        ratios = [check_channel_ratio(float(x)) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).replace("could not convert string to float", "not a number")) from None
    if not ratios:
        raise argparse.ArgumentTypeError(f"give at least one channel ratio, got {text!r}")
    return ratios


def _batch_list(text: str) -> list[int]:
    try:
        batches = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"batches are positive integers, got {text!r}") from None
    if not batches or min(batches) < 1:
        raise argparse.ArgumentTypeError(f"batches are positive integers, got {text!r}")
    return batches


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    rep = sub.add_parser("reproduce", help="quick-reference table, measured on real CNNs and transformers, with figures")
    rep.add_argument("--models", type=_names,
                     help="comma-separated zoo models (default: the whole zoo, CNNs and transformers)")
    rep.add_argument("--ratios", type=_ratio_list, help="comma-separated channel ratios (default 0.1,...,0.6)")
    rep.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    rep.add_argument("--readme-config", action="store_true",
                     help="also measure Torch-Pruning's README latency configuration of ResNet-50")
    rep.add_argument("--latency", action="store_true", help="also time forward passes (for GPU runs)")
    rep.add_argument("--out", default="figures", help="output folder (default: figures/)")

    bench = sub.add_parser("bench", help="predictor vs prune-and-count, printed as ratios; a 2x MAC budget: solver vs Torch-Pruning's loop")
    bench.add_argument("--models", type=_names)
    bench.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")

    lat = sub.add_parser("latency", help="the dense-vs-pruned latency study on this device, recorded with its stamp")
    lat.add_argument("--models", type=_names, help="comma-separated zoo models (default: resnet50,mobilenet_v2)")
    lat.add_argument("--batches", type=_batch_list,
                     help="comma-separated batch sizes (default: 1,64,256 on a GPU, 1,8 on a CPU)")
    lat.add_argument("--dtypes", type=_names, help="comma-separated precisions among fp32,bf16,fp16 (default: fp32,bf16)")
    lat.add_argument("--layouts", type=_names,
                     help="comma-separated memory layouts among contiguous,channels_last (default: both)")
    lat.add_argument("--modes", type=_names,
                     help="comma-separated execution modes among eager,fused,compiled (default: all three)")
    lat.add_argument("--min-run-time", type=float, default=0.2, help="seconds timed per variant and recording")
    lat.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    lat.add_argument("--out", default="figures", help="output folder (default: figures/)")

    sub.add_parser("readme", help="rewrite README.md's generated blocks from figures/, and the notebooks' "
                   "Colab cells from pyproject.toml's repository")

    nbs = sub.add_parser("notebooks", help="execute notebooks in order, storing outputs and run times")
    nbs.add_argument("names", nargs="*", help="notebook name prefixes, e.g. 02 (default: all)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "reproduce":
            from . import reproduce

            reproduce.main(models=args.models, ratios=args.ratios, device=args.device,
                           readme_config=args.readme_config, latency=args.latency, out=args.out)
        elif args.command == "bench":
            from . import bench

            bench.main(models=args.models, device=args.device)
        elif args.command == "latency":
            from .. import zoo

            grid = {}
            if args.models:
                for name in args.models:
                    zoo.family(name)  # unknown names fail before any work (and before the timing imports)
                grid["models"] = args.models
            if args.batches:
                grid["batches"] = args.batches
            from .. import env, latency

            layouts = {"contiguous": False, "channels_last": True}
            for name in args.layouts or ():
                if name not in layouts:
                    raise ValueError(f"layouts are contiguous or channels_last, got {name!r}")
            if args.min_run_time <= 0:
                raise ValueError(f"--min-run-time must be positive, got {args.min_run_time:g}")
            grid.update({k: tuple(v) for k, v in (("dtypes", args.dtypes), ("modes", args.modes)) if v})
            if args.layouts:
                grid["channels_last"] = tuple(layouts[n] for n in args.layouts)
            written = latency.record(args.out, device=env.device(args.device), min_run_time=args.min_run_time,
                                     progress=not env.progress_disabled(), **grid)
            print(f"wrote {', '.join(str(p) for p in written['paths'].values())} in {written['seconds']:.0f} s")
        elif args.command == "notebooks":
            from . import notebooks

            notebooks.run(args.names or None)
        elif args.command == "readme":
            from . import notebooks, readme

            print("README.md updated" if readme.update() else "README.md already up to date")
            if readme.stamp_course_list():
                print("notebook 00's course map updated")
            if notebooks.stamp_repository():
                print("notebooks' Colab cells now clone the repository of pyproject.toml")
    except ValueError as err:  # bad input: say why on one line
        print(f"python -m helpers {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
