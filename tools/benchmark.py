"""Train a model over several seeds and report mean and spread; with --ablate, the same for variants
of the recipe (a technique taken out, or one that is off put in), as a table and a plot.

    python tools/benchmark.py                                 # improved CNN, seeds 0 1 2 -> results/benchmark.md
    python tools/benchmark.py --model basic --seeds 0 1 2 3 4
    python tools/benchmark.py --ablate all --seeds 0 1 2      # every variant -> results/ablation.md and .png
    python tools/benchmark.py --ablate erasing onecycle       # some of them (`--ablate list` names them)
    python tools/benchmark.py --ablate dropout --base onecycle      # a variant of another recipe
    python tools/benchmark.py --ablate ema --seeds 0 1 2 3 --jobs 4 --device cuda   # four runs side by side

Full-length training belongs here, not in the test suite. Each run writes its usual outputs to
benchmark_runs/<model>[_<base>][_<variant>]_seed<N>/ (not committed), and its figures to
results/benchmark_runs.json (committed). A run is not repeated when that record or its folder holds
a run of the same model and settings (the seed among them): an ablation can be finished over several
sessions and machines (each record names its CPU or GPU; the table says which ran each row). A run
is known by its settings, not its name: when the defaults change, the runs of the old defaults
become the variant that brings the old setting back (and its ablation, run on the old recipe, stays
as a table of its own: `--base` names the recipe variants are taken from).

The test set is never used for a choice: the ablation table gives each variant's validation error
(the 5,000 held-out training images, at the epoch whose weights were kept) beside its test error,
and variants are judged on the first.

With --jobs N the runs not yet recorded train N at a time, each in its own process (its output in
benchmark_runs/<folder>.log, its share of the CPU's threads): one small model leaves a GPU mostly
idle, so a GPU trains many side by side in about the time of one.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
    "onecycle": ("one-cycle learning-rate schedule instead of the rate adapted on validation loss",
                 dict(schedule="onecycle")),
    "no-label-smoothing": ("without label smoothing", dict(label_smoothing=0.0)),
    "no-clipping": ("without gradient clipping", dict(grad_clip=0.0)),
    "no-early-stopping": ("without early stopping", dict(early_stop=0)),
    "no-batch-norm": ("without batch norm", dict(batch_norm=False)),
    "dropout": ("with dropout 0.1 before the last layer", dict(dropout=0.1)),
    # The defaults had dropout until the ablation measured it: recipes of that time are ablated with it.
    "no-dropout": ("without dropout", dict(dropout=0.0)),
    "no-outliers": ("without outlier exposure", dict(outliers=0.0)),
    "outliers-1": ("outlier exposure's loss weighted 1.0 instead of 0.5", dict(outliers=1.0)),
    "fill": ("with the frame-filling stretch (probability 0.5)", dict(fill=0.5)),
    "no-letters": ("without the pen letters among the synthetic non-digits", dict(outlier_letters=False)),
    "no-polygons": ("without the polygon outlines among the synthetic non-digits", dict(outlier_polygons=False)),
    "strokes-only": ("synthetic non-digits without pen letters or polygons (the earlier bank)",
                     dict(outlier_letters=False, outlier_polygons=False)),
    # Not a technique: the recipe cut to fit five minutes here (10 epochs, a quarter batch of non-digits).
    "fast": ("10 epochs, a quarter batch of non-digits per step instead of half", dict(epochs=10, outlier_share=0.25)),
    "ema": ("with an exponential moving average of the weights (decay 0.999)", dict(ema=0.999)),
    # Not a technique: the one-minute schedule (3 one-cycle epochs, without outlier exposure's extra half
    # batch; a rate cut on validation has no epochs to wait for).
    "short": ("3 one-cycle epochs without outlier exposure (the short schedule)",
              dict(epochs=3, outliers=0.0, schedule="onecycle")),
}


def recipe_changes(base: str) -> dict:
    """The settings a base recipe changes: `defaults`, a variant, or variants joined by '+'."""
    return {name: value for part in base.split("+") for name, value in VARIANTS[part][1].items()}


def recipe_name(base: str) -> str:
    return " then ".join(VARIANTS[part][0] for part in base.split("+"))


def variant_config(architecture: str, variant: str, seed: int, device: str = "auto",
                   base: str = DEFAULTS) -> TrainConfig:
    """The defaults, then the base recipe's changes, then the variant's."""
    name = "_".join(part for part in (architecture.removesuffix("_cnn"), base, variant) if part != DEFAULTS)
    return dataclasses.replace(MODELS[architecture].defaults, **{**recipe_changes(base), **VARIANTS[variant][1]},
                               seed=seed, device=device, output_dir=str(BENCHMARK_RUNS_DIR / f"{name}_seed{seed}"))


def changes_nothing(architecture: str, variant: str, base: str = DEFAULTS) -> bool:
    """A variant (not the defaults) whose settings the base recipe has already (`no-dropout` of today's defaults)."""
    recipe = variant_config(architecture, DEFAULTS, 0, base=base)
    return variant != DEFAULTS and all(getattr(recipe, name) == value for name, value in VARIANTS[variant][1].items())


def record_of(metrics: dict, variant: str, base: str = DEFAULTS) -> dict:
    """What the tables need from a run's metrics.json, small enough to commit."""
    kept = metrics["history"][metrics["kept_epoch"] - 1]
    machine = metrics.get("machine") or {}
    processor = machine.get("cpu", "not recorded")
    if machine.get("cpu_capability"):  # one CPU name can hide two instruction sets, and two results
        processor = f"{processor} ({machine['cpu_capability']})"
    return {
        "model": metrics["architecture"], "base": base, "variant": variant, "seed": metrics["config"]["seed"],
        "validation_error": 100 * (1 - kept["val_accuracy"]), "validation_loss": kept["val_loss"],
        "test_error": 100 * (1 - metrics["test"]["accuracy"]), "test_errors": metrics["test"]["errors"],
        "epochs_run": metrics["epochs_run"], "training_s": metrics["timing"]["training_s"],
        "total_s": metrics["timing"]["total_s"],
        "machine": machine.get("gpu") or processor, "device": metrics["device"],
        "torch": metrics.get("torch", ""), "config": metrics["config"],
    }


def same_run(record: dict, config: TrainConfig, architecture: str) -> bool:
    """The record is of a run with these settings (whatever it was called when it ran)."""
    return record["model"] == architecture and not differences(record["config"], config)


def same_name(record: dict, architecture: str, base: str, variant: str, seed: int) -> bool:
    return (record["model"], record.get("base", DEFAULTS), record["variant"], record["seed"]) == (
        architecture, base, variant, seed)


def load_records(path: Path = RECORDS_FILE) -> list[dict]:
    return json.loads(path.read_text())["runs"] if path.is_file() else []


def _order(name: str) -> int:
    return list(VARIANTS).index(name) if name in VARIANTS else len(VARIANTS)


def _recipe_order(base: str) -> list[int]:
    """Where a base recipe goes in the records and the report: by the variants it joins, in VARIANTS' order."""
    return [_order(part) for part in base.split("+")]


def save_records(records: list[dict], path: Path = RECORDS_FILE) -> None:
    ordered = sorted(records, key=lambda r: (r["model"], _recipe_order(r.get("base", DEFAULTS)), r.get("base", DEFAULTS),
                                            _order(r["variant"]), r["variant"], r["seed"]))
    write_json(path, {"about": "one entry per benchmark run (tools/benchmark.py); errors in % of the set; "
                               "base: the recipe the variant was taken from",
                      "runs": ordered})


def finished_run(config: TrainConfig) -> dict | None:
    """The metrics of a run with these settings in the config's folder, if it holds one."""
    metrics_path = Path(config.output_dir) / METRICS_FILE
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        if not differences(metrics["config"], config):
            return metrics
    return None


def run_or_reuse(architecture: str, config: TrainConfig, variant: str, base: str, records: list[dict],
                 rerun: bool) -> tuple[dict, bool]:
    """(the record of this run, whether it is new to the records): an existing record with the same
    settings, the run in its folder, or a fresh run's."""
    label = f"{architecture} {variant}{'' if base == DEFAULTS else ' of ' + base} seed {config.seed}"
    if not rerun:
        found = next((r for r in records if same_run(r, config, architecture)), None)
        if found:
            print(f"=== {label}: recorded on {found['machine']}, not rerun", flush=True)
            return found, False
        metrics = finished_run(config)
        if metrics:
            print(f"=== {label}: reusing {Path(config.output_dir) / METRICS_FILE}", flush=True)
            return record_of(metrics, variant, base), True
    print(f"=== {label}", flush=True)
    return record_of(run(architecture, config, plot=visualize.plot_run), variant, base), True


def child_command(architecture: str, variant: str, base: str, seed: int, device: str, scratch: Path) -> list[str]:
    """This tool, training one run into its folder (its records and table thrown away with `scratch`)."""
    name = f"{variant}_{seed}"
    return [sys.executable, str(Path(__file__).resolve()), "--model", architecture.removesuffix("_cnn"),
            "--ablate", variant, "--base", base, "--seeds", str(seed), "--device", device, "--rerun",
            "--records", str(scratch / f"{name}.json"), "--out", str(scratch / f"{name}.md")]


def train_side_by_side(pending: list[tuple[str, TrainConfig]], jobs: int, command_of) -> None:
    """Train each (variant, config) in a process of its own, `jobs` at a time, so that their folders hold
    the runs; `command_of(variant, config)` is the command line. Stops at the first that fails, naming its log."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    running: list[tuple[subprocess.Popen, Path]] = []

    def wait_for_one() -> None:
        while not any(process.poll() is not None for process, _ in running):
            time.sleep(0.2)
        process, log = next(entry for entry in running if entry[0].poll() is not None)
        running.remove((process, log))
        if process.returncode != 0:
            for other, _ in running:
                other.terminate()
            raise SystemExit(f"a run side by side failed (exit {process.returncode}): see {log}")
        print(f"=== finished: {log.with_suffix('')}", flush=True)

    for variant, config in pending:
        if len(running) == jobs:
            wait_for_one()
        log = Path(config.output_dir).with_suffix(".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"=== started: {log.with_suffix('')} ({len(running) + 1} running)", flush=True)
        with log.open("w") as out:
            process = subprocess.Popen(command_of(variant, config), stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, "OMP_NUM_THREADS": threads})
        running.append((process, log))
    while running:
        wait_for_one()


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


def ablation_rows(architecture: str, records: list[dict], base: str = DEFAULTS) -> list[dict]:
    """Per variant of the base recipe with runs under its current settings: its records and their
    summary, the base first. A variant that changes nothing of the base is left out."""
    rows = []
    for variant, (what, changes) in VARIANTS.items():
        if changes_nothing(architecture, variant, base):
            continue
        runs = {r["seed"]: r for r in records
                if same_run(r, variant_config(architecture, variant, r["seed"], base=base), architecture)}
        if runs:
            rows.append({"variant": variant, "what": what, "runs": [runs[seed] for seed in sorted(runs)]})
    return rows


def ablation_table(architecture: str, rows: list[dict], base: str = DEFAULTS) -> str:
    baseline = next((row for row in rows if row["variant"] == DEFAULTS), {"runs": []})
    base_by_seed = {r["seed"]: r["validation_error"] for r in baseline["runs"]}
    recipe = "" if base == DEFAULTS else f" of another recipe, the defaults with `{base}` (`--base {base}`)"
    lines = [f"## {architecture}: ablation{recipe}", "",
             "| variant | seeds | validation error | vs its recipe (validation, same seeds) | test error | "
             "test errors per seed | training time | machine |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        runs = row["runs"]
        val = [r["validation_error"] for r in runs]
        paired = [r["validation_error"] - base_by_seed[r["seed"]] for r in runs if r["seed"] in base_by_seed]
        delta = f"{statistics.mean(paired):+.3f}" if paired and row is not baseline else ""
        what = row["what"] if row is not baseline or base == DEFAULTS else f"the recipe: {recipe_name(base)}"
        lines.append(f"| {what} (`{row['variant']}`) | {', '.join(str(r['seed']) for r in runs)} | "
                     f"{_mean_spread(val)} | {delta} | {_mean_spread([r['test_error'] for r in runs])} | "
                     f"{', '.join(str(r['test_errors']) for r in runs)} | "
                     f"{statistics.mean(r['training_s'] for r in runs):.0f} s | "
                     f"{', '.join(sorted({r['machine'] for r in runs}))} |")
    lines += ["", "Errors in % (mean ± standard deviation over the seeds); validation: the 5,000 held-out "
              "training images, at the kept epoch; a variant is judged on validation, the test column is "
              "reported, never used to choose."]
    if base == DEFAULTS:
        missing = [v for v in VARIANTS if v not in {row["variant"] for row in rows}
                   and not changes_nothing(architecture, v)]
        if missing:
            lines.append(f"Not run yet: {', '.join(missing)} (`python tools/benchmark.py --ablate {' '.join(missing)}`).")
    return "\n".join(lines) + "\n"


def ablation_report(architecture: str, records: list[dict], out: Path) -> str:
    """The table (and plot) of the current recipe's variants, then one per other recipe runs were taken from."""
    bases = [DEFAULTS] + sorted({r.get("base", DEFAULTS) for r in records if r["model"] == architecture} - {DEFAULTS},
                                key=_recipe_order)
    tables = []
    for base in bases:
        rows = ablation_rows(architecture, records, base)
        if rows or base == DEFAULTS:
            plot = out.with_suffix(".png") if base == DEFAULTS else out.with_name(f"{out.stem}_{base.replace('+', '_')}.png")
            visualize.plot_ablation(rows, plot, architecture + ("" if base == DEFAULTS else f" ({base} recipe)"))
            tables.append(ablation_table(architecture, rows, base))
    return "\n".join(tables)


def _unknown(names: list[str]) -> str | None:
    """The complaint about names that are not variants; None when all are."""
    unknown = [name for name in names if name not in VARIANTS]
    return f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}" if unknown else None


def _base(text: str) -> str:
    complaint = _unknown(text.split("+"))
    if complaint:
        raise argparse.ArgumentTypeError(complaint)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("basic", "improved"), default="improved")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ablate", nargs="+", metavar="VARIANT",
                        help=f"variants to run ('all', or 'list' to see them): {', '.join(VARIANTS)}")
    parser.add_argument("--base", default=DEFAULTS, type=_base,
                        help="the recipe the variants are taken from: the defaults, a variant, or variants "
                             "joined by '+' (e.g. strokes-only+onecycle)")
    parser.add_argument("--rerun", action="store_true", help="train again even where a run is recorded")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None,
                        help="the summary (default results/benchmark.md, or results/ablation.md with --ablate)")
    parser.add_argument("--records", type=Path, default=RECORDS_FILE, help="the runs' figures (JSON)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="train the runs not yet recorded this many at a time, each in its own process")
    args = parser.parse_args(argv)
    architecture = f"{args.model}_cnn"
    if args.ablate == ["list"]:
        print("\n".join(f"{name:<20} {what}" for name, (what, _) in VARIANTS.items()))
        return 0
    variants = list(VARIANTS) if args.ablate == ["all"] else (args.ablate or [DEFAULTS])
    complaint = _unknown(variants)
    if complaint:
        parser.error(complaint)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    records = load_records(args.records)
    configs = [(variant, variant_config(architecture, variant, seed, args.device, args.base))
               for variant in variants if not changes_nothing(architecture, variant, args.base) for seed in args.seeds]
    rerun = args.rerun
    if args.jobs > 1:
        pending = [(variant, config) for variant, config in configs if rerun or not (
            any(same_run(r, config, architecture) for r in records) or finished_run(config))]
        with tempfile.TemporaryDirectory() as scratch:
            train_side_by_side(pending, args.jobs, lambda variant, config: child_command(
                architecture, variant, args.base, config.seed, args.device, Path(scratch)))
        # Their folders now hold fresh runs: the loop below records them instead of the old records.
        records = [r for r in records if not any(same_run(r, config, architecture) for _, config in pending)]
        rerun = False
    done = []
    for variant, config in configs:
        record, new = run_or_reuse(architecture, config, variant, args.base, records, rerun)
        if new:
            record.setdefault("recorded", datetime.date.today().isoformat())
            records = [r for r in records if not same_name(r, architecture, args.base, variant, config.seed)] + [record]
            save_records(records, args.records)  # after every run: an interrupted ablation keeps what it did
        done.append(record)
    if args.ablate:
        out = args.out or RESULTS_DIR / "ablation.md"
        text = ablation_report(architecture, records, out)
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
