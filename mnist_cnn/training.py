"""The one training loop both models share: epochs, validation, schedules, early stopping,
gradient clipping, weight averaging, per-epoch checkpoints, resume, and a clean stop on Ctrl-C or SIGTERM.

The basic model is this loop with augmentation, clipping and early stopping switched off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from . import checkpoint
from .augment import augment_batch
from .config import TrainConfig
from .data import normalize
from .outliers import outlier_batch, stroke_bank
from .runtime import Runtime, all_reduce_sum, broadcast_buffers


@dataclass
class Split:
    """Images as float (N, 1, 28, 28) in [0, 1] and int64 labels, on the training device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class EarlyStopping:
    """Progress is a validation loss lower, or a validation accuracy higher, than every epoch's
    before; the run stops after `patience` epochs of neither. The loss alone misleads under the
    one-cycle schedule (a high-learning-rate epoch's loss can stay the lowest while the annealed
    epochs after it grow more accurate), the accuracy alone moves in steps of one image of 5,000.
    A run cut short goes back to its most accurate epoch, the lower loss breaking ties."""

    patience: int
    best_loss: float = float("inf")  # the lowest so far, of any epoch
    best_accuracy: float = 0.0  # the highest so far: the best epoch's
    best_epoch: int = 0
    best_epoch_loss: float = float("inf")
    epochs_without_improvement: int = 0

    def update(self, epoch: int, accuracy: float, loss: float) -> bool:
        """Record an epoch's validation result; True when it is the epoch to go back to, so far."""
        progress = loss < self.best_loss or accuracy > self.best_accuracy
        best = accuracy > self.best_accuracy or (accuracy == self.best_accuracy and loss < self.best_epoch_loss)
        self.best_loss = min(self.best_loss, loss)
        if best:
            self.best_accuracy, self.best_epoch, self.best_epoch_loss = accuracy, epoch, loss
        self.epochs_without_improvement = 0 if progress else self.epochs_without_improvement + 1
        return best

    @property
    def should_stop(self) -> bool:
        return 0 < self.patience <= self.epochs_without_improvement


@dataclass
class FitResult:
    history: list[dict]
    epoch_seconds: list[float]
    best_epoch: int  # most accurate on the validation split (EarlyStopping)
    kept_epoch: int  # whose weights the model holds at the end
    stopped_early: bool


class TrainingInterrupted(Exception):
    """Raised when SIGINT/SIGTERM arrives; the last completed epoch's checkpoint is on disk."""

    def __init__(self, signal_number: int, completed_epochs: int):
        self.signal_number = signal_number
        self.completed_epochs = completed_epochs
        super().__init__(f"{signal.Signals(signal_number).name} received after {completed_epochs} "
                         "completed epoch(s)")


def derived_seed(*keys: int) -> int:
    """An independent 32-bit seed for each (seed, epoch, ...) so that any epoch can be replayed
    on its own: a resumed run draws exactly what the uninterrupted one drew."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def autocast(device: torch.device):
    # bf16 keeps fp32's range, so no loss scaling is needed; on CPU/MPS stay in fp32.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Float32 logits for float images in [0, 1]; the model's own device and eval mode."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = normalize(images[start:start + batch_size]).contiguous(memory_format=torch.channels_last)
        with autocast(batch.device):
            outputs.append(model(batch).float())
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 10, device=images.device)


def evaluate(model: nn.Module, split: Split, batch_size: int, runtime: Runtime) -> tuple[float, float]:
    """(mean loss, accuracy) over `split`; under DDP each rank scores its shard and the sums are reduced."""
    shard = slice(runtime.rank, None, runtime.world_size)
    logits = predict_logits(model, split.images[shard], batch_size)
    labels = split.labels[shard]
    totals = torch.stack([
        F.cross_entropy(logits, labels, reduction="sum"),
        (logits.argmax(1) == labels).sum().float(),
        torch.tensor(float(len(labels)), device=logits.device),
    ])
    loss_sum, correct, count = all_reduce_sum(totals, runtime).tolist()
    return loss_sum / count, correct / count


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    optimizer_class = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The schedule and whether it steps per batch (True) or per epoch on the validation loss."""
    total_steps = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                                   pct_start=0.25), True
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps), True
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=config.plateau_factor,
                                                          patience=config.plateau_patience), False
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0), True


class _StopRequests:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a step is never cut in half."""

    def __init__(self):
        self.signal_number = 0

    def __enter__(self):
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signal_number, frame):
        self.signal_number = signal_number

    def agreed(self, runtime: Runtime) -> int:
        """The signal, if any rank got one: every rank must stop at the same step or DDP hangs."""
        if not runtime.distributed:
            return self.signal_number
        flag = torch.tensor([self.signal_number], device=runtime.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return int(flag.item())

    def check(self, runtime: Runtime, completed_epochs: int) -> None:
        """Raise TrainingInterrupted at this step boundary if a stop was asked for."""
        received = self.agreed(runtime)
        if received:
            raise TrainingInterrupted(received, completed_epochs)


def fit(model: nn.Module, architecture: str, train: Split, val: Split, config: TrainConfig,
        runtime: Runtime, checkpoint_path: Path) -> FitResult:
    """Train `model` in place; return the per-epoch history. Resumes from `checkpoint_path` when
    `config.resume`, and writes it after every epoch (on the main process). SIGINT/SIGTERM end
    the run between two steps with TrainingInterrupted."""
    device = runtime.device
    per_rank_batch = config.batch_size // runtime.world_size
    if per_rank_batch < 1 or config.batch_size % runtime.world_size:
        raise ValueError(f"--batch-size {config.batch_size} must be a multiple of the world size {runtime.world_size}")
    # Every rank must take the same number of steps: use whole shards only.
    shard_size = len(train) // runtime.world_size
    steps_per_epoch = max(1, -(-shard_size // per_rank_batch))
    optimizer = make_optimizer(model, config)
    scheduler, per_step_schedule = make_scheduler(optimizer, config, steps_per_epoch)
    stopper = EarlyStopping(config.early_stop)
    bank = outlier_bank(config, device)
    # The average is what is validated, tested and saved; batch norm's statistics are averaged with it.
    averaged = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
                if config.ema > 0 else None)
    evaluated = averaged.module if averaged is not None else model
    history: list[dict] = []
    epoch_seconds: list[float] = []
    best_weights: dict[str, torch.Tensor] | None = None
    start_epoch = 0

    if config.resume:
        state = checkpoint.load_for_resume(checkpoint_path, architecture, config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        stopper = EarlyStopping(**state["early_stopping"])
        history, epoch_seconds = state["history"], state["epoch_seconds"]
        best_weights = state["best_weights"]
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        start_epoch = state["epoch"]
        if runtime.is_main:
            print(f"resuming from {checkpoint_path} after epoch {start_epoch}")

    trainable = model
    if config.compile:
        trainable = torch.compile(trainable)
    if runtime.distributed:
        trainable = DistributedDataParallel(trainable, device_ids=[device.index] if device.type == "cuda" else None)

    with _StopRequests() as stop_requests:
        for epoch in range(start_epoch, config.epochs):
            if stopper.should_stop:
                break
            started = time.perf_counter()
            train_loss, train_accuracy, grad_norms = _train_one_epoch(
                trainable, model, optimizer, scheduler if per_step_schedule else None, train, config, runtime,
                epoch, per_rank_batch, steps_per_epoch, stop_requests, bank, averaged)
            # BatchNorm statistics are updated locally on each rank; evaluate and save rank 0's.
            broadcast_buffers(model, runtime)
            if averaged is not None:
                broadcast_buffers(averaged, runtime)
            val_loss, val_accuracy = evaluate(evaluated, val, config.eval_batch_size, runtime)
            if not per_step_schedule:
                scheduler.step(val_loss)
            if stopper.update(epoch + 1, val_accuracy, val_loss) and config.early_stop:
                best_weights = {k: v.detach().to("cpu", copy=True) for k, v in evaluated.state_dict().items()}
            epoch_seconds.append(time.perf_counter() - started)
            history.append({
                "epoch": epoch + 1,
                "train_loss": train_loss, "train_accuracy": train_accuracy,
                "val_loss": val_loss, "val_accuracy": val_accuracy,
                "lr": optimizer.param_groups[0]["lr"],
                **grad_norms,
            })
            if runtime.is_main:
                _print_epoch(history[-1], config.epochs, epoch_seconds[-1])
                checkpoint.save_training_state(checkpoint_path, {
                    "architecture": architecture, "config": dataclasses.asdict(config), "epoch": epoch + 1,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "early_stopping": dataclasses.asdict(stopper),
                    "best_weights": best_weights, "history": history, "epoch_seconds": epoch_seconds,
                    "averaged": averaged.state_dict() if averaged is not None else None,
                })

    # Only a run that early stopping cut short goes back to its best epoch (Keras's rule too). A run
    # that finished its schedule has annealed its learning rate, and those final weights are what the
    # schedule is for: the validation loss creeps up as the annealed model grows more confident, and
    # restoring on it would trade them for a less accurate high-learning-rate epoch.
    stopped_early = stopper.should_stop and len(history) < config.epochs
    kept_epoch = len(history)
    if averaged is not None:
        model.load_state_dict(evaluated.state_dict())
    if stopped_early and best_weights is not None:
        model.load_state_dict(best_weights)
        kept_epoch = stopper.best_epoch
        if runtime.is_main:
            print(f"early stop: restored the weights of epoch {kept_epoch} (validation accuracy "
                  f"{stopper.best_accuracy:.2%}, loss {stopper.best_epoch_loss:.4f})")
    return FitResult(history, epoch_seconds, stopper.best_epoch, kept_epoch, stopped_early)


def _train_one_epoch(trainable, model, optimizer, step_scheduler, train: Split, config: TrainConfig,
                     runtime: Runtime, epoch: int, per_rank_batch: int, steps_per_epoch: int,
                     stop_requests: _StopRequests, bank: torch.Tensor | None,
                     averaged: AveragedModel | None) -> tuple[float, float, dict]:
    device = runtime.device
    # The order is shared by all ranks (each takes its own shard of it); augmentation and dropout
    # draw from a per-rank stream so that shards do not repeat each other's randomness.
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(derived_seed(config.seed, epoch)))
    shard = order[runtime.rank::runtime.world_size][:len(train) // runtime.world_size].to(device)
    torch.manual_seed(derived_seed(config.seed, epoch, runtime.rank, 1))

    model.train()
    totals = torch.zeros(3, device=device)  # loss sum, correct, count
    norms = []
    bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", leave=False,
               disable=None if runtime.is_main else True, mininterval=0.5)
    for step in bar:
        stop_requests.check(runtime, completed_epochs=epoch)
        index = shard[step * per_rank_batch:(step + 1) * per_rank_batch]
        loss, logits, labels, grad_norm = training_step(trainable, model, optimizer, train.images[index],
                                                        train.labels[index], config, bank)
        if grad_norm is not None:
            norms.append(grad_norm)
        if averaged is not None:
            averaged.update_parameters(model)
        if step_scheduler is not None:
            step_scheduler.step()
        totals += torch.stack([loss.detach() * len(labels), (logits.argmax(1) == labels).sum(),
                               torch.tensor(len(labels), device=device)])
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    loss_sum, correct, count = all_reduce_sum(totals, runtime).tolist()
    grad_norms = {}
    if norms:
        stacked = torch.stack(norms)
        grad_norms = {"grad_norm_mean": stacked.mean().item(), "grad_norm_max": stacked.max().item()}
    return loss_sum / count, correct / count, grad_norms


def outlier_bank(config: TrainConfig, device: torch.device) -> torch.Tensor | None:
    """The run's synthetic non-digits for outlier exposure, on `device`; None when it is off."""
    if config.outliers == 0:
        return None
    return stroke_bank(seed=config.seed, polygons=config.outlier_polygons, letters=config.outlier_letters).to(device)


def training_step(trainable: nn.Module, model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
                  labels: torch.Tensor, config: TrainConfig, bank: torch.Tensor | None):
    """One optimisation step on a batch of digits (float images in [0, 1]): outlier exposure,
    augmentation, forward, loss, backward, clipping, update. Returns (loss, the digits' logits,
    their labels, the gradient norm before clipping or None)."""
    count = len(labels)
    if bank is not None:  # outlier exposure: non-digits in the same forward pass, label -1
        extra = max(1, int(count * config.outlier_share))  # 0.5: count // 2, as before the share was a setting
        images = torch.cat([images, outlier_batch(bank, images, extra)])
        labels = torch.cat([labels, labels.new_full((extra,), -1)])
    if config.augment:
        images = augment_batch(images, labels, config)
    images = normalize(images).contiguous(memory_format=torch.channels_last)
    with autocast(images.device):
        outputs = trainable(images).float()
        logits, labels = outputs[:count], labels[:count]
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        if bank is not None:  # KL divergence from the uniform distribution: 0 when flat
            loss = loss - config.outliers * (F.log_softmax(outputs[count:], 1).mean() + math.log(10))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip) if config.grad_clip > 0 else None
    optimizer.step()
    return loss, logits, labels, grad_norm


def _print_epoch(entry: dict, epochs: int, seconds: float) -> None:
    line = (f"epoch {entry['epoch']:>2}/{epochs}  train loss {entry['train_loss']:.4f} acc {entry['train_accuracy']:.2%}"
            f"  val loss {entry['val_loss']:.4f} acc {entry['val_accuracy']:.2%}  lr {entry['lr']:.2e}")
    if "grad_norm_mean" in entry:
        line += f"  grad norm {entry['grad_norm_mean']:.2f} (max {entry['grad_norm_max']:.2f})"
    print(line + f"  {seconds:.1f}s", flush=True)
