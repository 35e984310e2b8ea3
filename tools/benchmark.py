"""Train a model over several seeds and report mean and spread; with --ablate, the same for variants
of the recipe (a technique taken out, or one that is off put in), as a table and a plot.

    python tools/benchmark.py                                 # improved CNN, seeds 0 1 2 -> results/benchmark.md
    python tools/benchmark.py --model basic --seeds 0 1 2 3 4
    python tools/benchmark.py --ablate all --seeds 0 1 2      # every variant -> results/ablation.md and .png
    python tools/benchmark.py --ablate erasing plateau        # some of them (`--ablate list` names them)

Full-length training belongs here, not in the test suite. Each run writes its usual outputs to
benchmark_runs/<model>[_<variant>]_seed<N>/ (not committed), and its figures to
results/benchmark_runs.json (committed). A run is not repeated when its folder or that record holds
a run of the same model, variant, seed and settings: an ablation can be finished over several
sessions and machines (each record names its CPU or GPU; the table says which ran each row).

The test set is never used for a choice: the ablation table gives each variant's validation error
(the 5,000 held-out training images, at the epoch whose weights were kept) beside its test error,
and variants are judged on the first.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/benchmark.py

import visualize  # noqa: E402
from mnist_cnn.checkpoint import differences  # noqa: E402
from mnist_cnn.config import TrainConfig  # noqa: E402
from mnist_cnn.experiment import run  # noqa: E402
from mnist_cnn.models import MODELS  # noqa: E402
from mnist_cnn.paths import BENCHMARK_RUNS_DIR, METRICS_FILE, RESULTS_DIR  # noqa: E402
from mnist_cnn.storage import atomic_path, write_json  # noqa: E402

RECORDS_FILE = RESULTS_DIR / "benchmark_runs.json"
DEFAULTS = "defaults"

# Each variant: what it changes, in words and as settings on top of the model's defaults.
VARIANTS: dict[str, tuple[str, dict]] = {
    DEFAULTS: ("the default recipe", {}),
    "no-affine": ("without the affine augmentation", dict(rotation=0.0, translate=0.0, scale=0.0, shear=0.0)),
    "erasing": ("with random erasing (probability 0.1)", dict(erase=0.1)),
    "style": ("with the style augmentations (aspect 0.15, elastic 1, thickness 0.5, 1's flags 0.5)",
              dict(aspect=0.15, elastic=1.0, thickness=0.5, one_flags=0.5)),
    "plateau": ("learning rate adapted on validation loss (plateau) instead of one-cycle", dict(schedule="plateau")),
    "no-label-smoothing": ("without label smoothing", dict(label_smoothing=0.0)),
    "no-clipping": ("without gradient clipping", dict(grad_clip=0.0)),
    "no-early-stopping": ("without early stopping", dict(early_stop=0)),
    "no-batch-norm": ("without batch norm", dict(batch_norm=False)),
    "no-dropout": ("without dropout", dict(dropout=0.0)),
    "no-outliers": ("without outlier exposure", dict(outliers=0.0)),
    "polygons": ("with polygon outlines among the synthetic non-digits", dict(outlier_polygons=True)),
    "ema": ("with an exponential moving average of the weights (decay 0.999)", dict(ema=0.999)),
    # Not a technique: the one-minute schedule (3 epochs, without outlier exposure's extra half batch).
    "short": ("3 epochs without outlier exposure (the short schedule)", dict(epochs=3, outliers=0.0)),
}


def variant_config(architecture: str, variant: str, seed: int, device: str = "auto") -> TrainConfig:
    suffix = "" if variant == DEFAULTS else f"_{variant}"
    return dataclasses.replace(MODELS[architecture].defaults, **VARIANTS[variant][1], seed=seed, device=device,
                               output_dir=str(BENCHMARK_RUNS_DIR / f"{architecture.removesuffix('_cnn')}{suffix}_seed{seed}"))


def record_of(metrics: dict, variant: str) -> dict:
    """What the tables need from a run's metrics.json, small enough to commit."""
    kept = metrics["history"][metrics["kept_epoch"] - 1]
    machine = metrics.get("machine") or {}
    return {
        "model": metrics["architecture"], "variant": variant, "seed": metrics["config"]["seed"],
        "validation_error": 100 * (1 - kept["val_accuracy"]), "validation_loss": kept["val_loss"],
        "test_error": 100 * (1 - metrics["test"]["accuracy"]), "test_errors": metrics["test"]["errors"],
        "epochs_run": metrics["epochs_run"], "training_s": metrics["timing"]["training_s"],
        "total_s": metrics["timing"]["total_s"],
        "machine": machine.get("gpu") or machine.get("cpu", "not recorded"), "device": metrics["device"],
        "torch": metrics.get("torch", ""), "config": metrics["config"],
    }


def same_run(record: dict, config: TrainConfig, architecture: str, variant: str) -> bool:
    return (record["model"] == architecture and record["variant"] == variant
            and not differences(record["config"], config))


def load_records(path: Path = RECORDS_FILE) -> list[dict]:
    return json.loads(path.read_text())["runs"] if path.is_file() else []


def save_records(records: list[dict], path: Path = RECORDS_FILE) -> None:
    ordered = sorted(records, key=lambda r: (r["model"], list(VARIANTS).index(r["variant"])
                                            if r["variant"] in VARIANTS else len(VARIANTS), r["variant"], r["seed"]))
    write_json(path, {"about": "one entry per benchmark run (tools/benchmark.py); errors in % of the set",
                      "runs": ordered})


def run_or_reuse(architecture: str, variant: str, seed: int, device: str, records: list[dict],
                 rerun: bool) -> dict:
    """The record of this run: an existing one with the same settings, or a fresh run's."""
    config = variant_config(architecture, variant, seed, device)
    metrics_path = Path(config.output_dir) / METRICS_FILE
    if not rerun:
        if metrics_path.is_file():
            metrics = json.loads(metrics_path.read_text())
            if not differences(metrics["config"], config):
                print(f"=== {architecture} {variant} seed {seed}: reusing {metrics_path}", flush=True)
                return record_of(metrics, variant)
        found = next((r for r in records if same_run(r, config, architecture, variant)), None)
        if found:
            print(f"=== {architecture} {variant} seed {seed}: recorded on {found['machine']}, not rerun", flush=True)
            return found
    print(f"=== {architecture} {variant} seed {seed}", flush=True)
    return record_of(run(architecture, config, plot=visualize.plot_run), variant)


def _mean_spread(values: list[float]) -> str:
    spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.3f}%{spread}"


def summarize(name: str, records: list[dict]) -> str:
    accuracies = [100 - r["test_error"] for r in records]
    seconds = [r["total_s"] for r in records]
    lines = [f"## {name}: {len(records)} seeds, default settings", "",
             "| seed | test accuracy | test errors | epochs run | training time | total time (data load included) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['seed']} | {100 - r['test_error']:.2f}% | {r['test_errors']} | {r['epochs_run']} | "
              f"{r['training_s']:.0f} s | {r['total_s']:.0f} s |" for r in records]
    spread = statistics.stdev(accuracies) if len(records) > 1 else 0.0
    machines = ", ".join(sorted({r["machine"] for r in records}))
    lines += ["", f"Test accuracy: mean {statistics.mean(accuracies):.3f}%, standard deviation {spread:.3f}, "
              f"min {min(accuracies):.2f}%, max {max(accuracies):.2f}%. Total time: mean "
              f"{statistics.mean(seconds):.0f} s, max {max(seconds):.0f} s. Device: {records[0]['device']}; "
              f"machine: {machines}.", ""]
    return "\n".join(lines)


def ablation_rows(architecture: str, records: list[dict]) -> list[dict]:
    """Per variant with runs under its current settings: its records and their summary, defaults first."""
    rows = []
    for variant, (what, _) in VARIANTS.items():
        runs = [r for r in records if r["model"] == architecture and r["variant"] == variant
                and same_run(r, variant_config(architecture, variant, r["seed"]), architecture, variant)]
        if runs:
            rows.append({"variant": variant, "what": what, "runs": sorted(runs, key=lambda r: r["seed"])})
    return rows


def ablation_table(architecture: str, rows: list[dict]) -> str:
    baseline = next((row for row in rows if row["variant"] == DEFAULTS), {"runs": []})
    base_by_seed = {r["seed"]: r["validation_error"] for r in baseline["runs"]}
    lines = [f"## {architecture}: ablation", "",
             "| variant | seeds | validation error | vs defaults (validation, same seeds) | test error | "
             "test errors per seed | training time | machine |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        runs = row["runs"]
        val = [r["validation_error"] for r in runs]
        paired = [r["validation_error"] - base_by_seed[r["seed"]] for r in runs if r["seed"] in base_by_seed]
        delta = f"{statistics.mean(paired):+.3f}" if paired and row is not baseline else ""
        lines.append(f"| {row['what']} (`{row['variant']}`) | {', '.join(str(r['seed']) for r in runs)} | "
                     f"{_mean_spread(val)} | {delta} | {_mean_spread([r['test_error'] for r in runs])} | "
                     f"{', '.join(str(r['test_errors']) for r in runs)} | "
                     f"{statistics.mean(r['training_s'] for r in runs):.0f} s | "
                     f"{', '.join(sorted({r['machine'] for r in runs}))} |")
    missing = [v for v in VARIANTS if v not in {row["variant"] for row in rows}]
    lines += ["", "Errors in % (mean ± standard deviation over the seeds); validation: the 5,000 held-out "
              "training images, at the kept epoch; a variant is judged on validation, the test column is "
              "reported, never used to choose."]
    if missing:
        lines.append(f"Not run yet: {', '.join(missing)} (`python tools/benchmark.py --ablate {' '.join(missing)}`).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("basic", "improved"), default="improved")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ablate", nargs="+", metavar="VARIANT",
                        help=f"variants to run ('all', or 'list' to see them): {', '.join(VARIANTS)}")
    parser.add_argument("--rerun", action="store_true", help="train again even where a run is recorded")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None,
                        help="the summary (default results/benchmark.md, or results/ablation.md with --ablate)")
    parser.add_argument("--records", type=Path, default=RECORDS_FILE, help="the runs' figures (JSON)")
    args = parser.parse_args(argv)
    architecture = f"{args.model}_cnn"
    if args.ablate == ["list"]:
        print("\n".join(f"{name:<20} {what}" for name, (what, _) in VARIANTS.items()))
        return 0
    variants = list(VARIANTS) if args.ablate == ["all"] else (args.ablate or [DEFAULTS])
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    records = load_records(args.records)
    done = []
    for variant in variants:
        for seed in args.seeds:
            record = run_or_reuse(architecture, variant, seed, args.device, records, args.rerun)
            record.setdefault("recorded", datetime.date.today().isoformat())
            records = [r for r in records if not (r["model"] == architecture and r["variant"] == variant
                                                  and r["seed"] == seed)] + [record]
            save_records(records, args.records)  # after every run: an interrupted ablation keeps what it did
            done.append(record)
    if args.ablate:
        rows = ablation_rows(architecture, records)
        text = ablation_table(architecture, rows)
        out = args.out or RESULTS_DIR / "ablation.md"
        visualize.plot_ablation(rows, out.with_suffix(".png"), architecture)
    else:
        text = summarize(architecture, done)
        out = args.out or RESULTS_DIR / "benchmark.md"
    print(text)
    with atomic_path(out) as tmp:
        tmp.write_text(f"# {'Ablation' if args.ablate else 'Benchmark'}\n\nGenerated by `python tools/benchmark.py"
                       f"{' --ablate ...' if args.ablate else ''}` (see its --help) from {args.records.name}.\n\n"
                       + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
