"""How fast a model trains here, and how close that is to what the processor could do.

    python tools/throughput.py                   # improved CNN, its default recipe -> results/throughput.md
    python tools/throughput.py --model basic --steps 30

Times the training loop's own step (`training.training_step`: outlier exposure, augmentation,
forward, backward, clipping, update) on real MNIST batches; counts its floating-point operations
with torch.utils.flop_counter (convolutions and matrix products, forward and backward); puts them
against the CPU's fp32 peak (cores x clock x FLOPs per cycle of its widest FMA units, from
/proc/cpuinfo: the clock is the one the OS reports, so turbo can make the fraction look higher than
it is); and profiles a few steps with torch.profiler. bf16 (autocast) is timed too where the CPU has
AMX. On a GPU the same step is timed; the peak is left out.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/throughput.py

from mnist_cnn.data import load_mnist, to_float  # noqa: E402
from mnist_cnn.models import MODELS  # noqa: E402
from mnist_cnn.paths import RESULTS_DIR  # noqa: E402
from mnist_cnn.runtime import cpuinfo, machine_info, seed_everything, start  # noqa: E402
from mnist_cnn.storage import atomic_path  # noqa: E402
from mnist_cnn.training import make_optimizer, outlier_bank, training_step  # noqa: E402

# Work that is not arithmetic on the model's tensors, as the profiler names it.
NOT_COMPUTE = ("copy", "fill", "empty", "to_copy", "cat", "index", "randperm", "uniform", "stack", "item",
               "zero", "bernoulli", "grid_sampler", "affine_grid", "max_pool2d_with_indices_backward")


def first_processor() -> tuple[set[str], float | None]:
    """The first logical CPU's feature flags and the clock the OS reports for it (GHz), from /proc/cpuinfo."""
    processor = (cpuinfo() or [{}])[0]
    megahertz = processor.get("cpu MHz")
    return set(processor.get("flags", "").split()), float(megahertz) / 1000 if megahertz else None


def fp32_flops_per_cycle(flags: set[str]) -> int:
    """Per core: two FMA units of 16 (AVX-512) or 8 (AVX2) floats, each a multiply and an add."""
    if "avx512f" in flags:
        return 64
    if {"avx2", "fma"} <= flags:
        return 32
    return 8


def time_steps(step, steps: int) -> float:
    """Seconds per step, after two warm-up steps."""
    for _ in range(2):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("basic", "improved"), default="improved")
    parser.add_argument("--steps", type=int, default=20, help="steps timed (after two to warm up)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "throughput.md")
    args = parser.parse_args(argv)
    architecture = f"{args.model}_cnn"
    config = dataclasses.replace(MODELS[architecture].defaults, device=args.device)
    runtime = start(config.device)
    device = runtime.device
    seed_everything(config.seed)
    data = load_mnist()
    images = to_float(data.train_images[:config.batch_size]).to(device)
    labels = data.train_labels[:config.batch_size].to(device)
    model = MODELS[architecture].build(config).to(device, memory_format=torch.channels_last).train()
    optimizer = make_optimizer(model, config)
    bank = outlier_bank(config, device)
    passed = config.batch_size + (config.batch_size // 2 if bank is not None else 0)  # digits and non-digits

    def step():
        training_step(model, model, optimizer, images, labels, config, bank)
        if device.type == "cuda":
            torch.cuda.synchronize()

    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    flops_per_step = counter.get_total_flops()
    seconds = time_steps(step, args.steps)
    achieved = flops_per_step / seconds
    machine = machine_info(runtime)
    lines = [f"## {architecture}: one training step of the default recipe", "",
             f"Machine: {machine.get('gpu') or machine['cpu']}, {machine['physical_cores']} physical cores, "
             f"{machine['torch_threads']} torch threads, torch {torch.__version__}, {runtime.device_name}; batch of {config.batch_size} digits"
             + (f" and {passed - config.batch_size} non-digits (outlier exposure)" if bank is not None else "") + ".", "",
             "| figure | value |", "|---|---|",
             f"| FLOPs per training digit (forward and backward{', its share of the non-digits included' if bank is not None else ''}) "
             f"| {flops_per_step / config.batch_size / 1e6:.1f} M |",
             f"| FLOPs per image through the network | {flops_per_step / passed / 1e6:.1f} M |",
             f"| step time | {1000 * seconds:.1f} ms |",
             f"| training digits per second | {config.batch_size / seconds:,.0f} |",
             f"| images through the network per second | {passed / seconds:,.0f} |",
             f"| achieved | {achieved / 1e9:.1f} GFLOP/s |"]
    flags, clock = first_processor()
    if device.type == "cpu" and clock:
        per_cycle = fp32_flops_per_cycle(flags)
        cores = min(machine["physical_cores"], machine["torch_threads"])  # the cores torch's threads occupy
        peak = cores * clock * 1e9 * per_cycle
        lines += [f"| fp32 peak ({cores} cores x {clock:.2f} GHz x {per_cycle} FLOPs per cycle) "
                  f"| {peak / 1e9:.1f} GFLOP/s |", f"| fraction of the fp32 peak | {achieved / peak:.1%} |"]
    if device.type == "cpu" and "amx_bf16" in flags:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16_seconds = time_steps(step, args.steps)
        lines.append(f"| step time under bf16 autocast (AMX) | {1000 * bf16_seconds:.1f} ms "
                     f"({seconds / bf16_seconds:.2f}x fp32) |")
    elif device.type == "cpu":
        lines.append("| bf16 | not measured: this CPU has no AMX (amx_bf16 not in /proc/cpuinfo) |")

    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    profiled_steps = 5
    with profile(activities=activities) as profiler:
        for _ in range(profiled_steps):
            step()
    averages = sorted(profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in averages)
    other = sum(e.self_cpu_time_total for e in averages if any(word in e.key for word in NOT_COMPUTE))
    lines += ["", f"Profile of {profiled_steps} steps (torch.profiler, self CPU time): the 12 costliest operations; "
              f"{other / total:.1%} of the time is in operations that move or make data rather than compute "
              f"({', '.join(NOT_COMPUTE)}).", "", "| operation | share | calls per step |", "|---|---|---|"]
    lines += [f"| {e.key} | {e.self_cpu_time_total / total:.1%} | {e.count / profiled_steps:.0f} |" for e in averages[:12]]
    text = "\n".join(lines) + "\n"
    print(text)
    with atomic_path(args.out) as tmp:
        tmp.write_text(f"# Training throughput\n\nGenerated by `python tools/throughput.py --model {args.model} "
                       f"--steps {args.steps}` (see its docstring).\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
