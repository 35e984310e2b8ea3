import dataclasses
import signal

import pytest
import torch

from conftest import REPO_DIR
from mnist_cnn import checkpoint, training
from mnist_cnn.config import TrainConfig
from mnist_cnn.data import to_float
from mnist_cnn.models import BasicCNN, load_trained_model
from mnist_cnn.runtime import Runtime
from mnist_cnn.training import EarlyStopping, Split, fit, make_optimizer, make_scheduler, predict_logits

CPU = Runtime(torch.device("cpu"))


@pytest.fixture(scope="module")
def small_splits(mnist):
    train = Split(to_float(mnist.train_images[:1024]), mnist.train_labels[:1024])
    val = Split(to_float(mnist.train_images[-500:]), mnist.train_labels[-500:])
    return train, val


def small_config(**changes) -> TrainConfig:
    settings = dict(epochs=3, batch_size=64, lr=3e-3, val_size=500) | changes
    return dataclasses.replace(TrainConfig(), **settings)


def train_small(small_splits, tmp_path, **changes):
    torch.manual_seed(0)
    model = BasicCNN().to(memory_format=torch.channels_last)
    result = fit(model, "basic_cnn", *small_splits, small_config(**changes), CPU, tmp_path / "checkpoint.pt")
    return model, result


def test_a_few_epochs_make_the_loss_fall(small_splits, tmp_path):
    _, result = train_small(small_splits, tmp_path)
    losses = [entry["train_loss"] for entry in result.history]
    assert losses[-1] < losses[0] * 0.6
    assert result.history[-1]["val_accuracy"] > 0.8
    assert (tmp_path / "checkpoint.pt").is_file()


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_per_step_schedules_change_the_learning_rate(schedule):
    model = torch.nn.Linear(2, 2)
    config = small_config(schedule=schedule)
    optimizer = make_optimizer(model, config)
    scheduler, per_step = make_scheduler(optimizer, config, steps_per_epoch=10)
    rates = []
    for _ in range(30):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert per_step and max(rates) == pytest.approx(config.lr, rel=0.05) and rates[-1] < config.lr / 100


def test_plateau_schedule_cuts_the_rate_when_validation_loss_stalls():
    model = torch.nn.Linear(2, 2)
    config = small_config(schedule="plateau", plateau_patience=1, plateau_factor=0.3)
    optimizer = make_optimizer(model, config)
    scheduler, per_step = make_scheduler(optimizer, config, steps_per_epoch=10)
    for val_loss in (1.0, 0.5, 0.6, 0.6):
        scheduler.step(val_loss)
    assert not per_step and optimizer.param_groups[0]["lr"] == pytest.approx(config.lr * 0.3)


def test_early_stopping_counts_epochs_without_a_lower_loss_or_a_higher_accuracy():
    stopper = EarlyStopping(patience=2)
    assert stopper.update(1, 0.90, 0.3) and stopper.update(2, 0.95, 0.2)
    # More accurate at a higher loss: progress, and the epoch to go back to (the annealed epochs of a
    # one-cycle run, whose loss a lucky high-learning-rate epoch can keep beating).
    assert stopper.update(3, 0.97, 0.25) and stopper.epochs_without_improvement == 0
    assert not stopper.update(4, 0.96, 0.22) and not stopper.should_stop  # neither: one epoch without
    assert not stopper.update(5, 0.94, 0.19) and stopper.epochs_without_improvement == 0  # a lower loss: progress
    assert not stopper.update(6, 0.96, 0.21) and not stopper.should_stop
    assert stopper.update(7, 0.97, 0.24) and stopper.should_stop  # as accurate, lower loss: the better of the two
    assert (stopper.best_epoch, stopper.best_accuracy, stopper.best_epoch_loss, stopper.best_loss) == (7, 0.97, 0.24, 0.19)


def test_early_stopping_stops_and_restores_the_best_epoch(small_splits, tmp_path, monkeypatch):
    scripted = iter([(0.5, 0.50), (0.4, 0.70), (0.45, 0.60), (0.45, 0.65), (0.3, 0.99)])
    weights_seen = []

    def scripted_evaluate(model, split, batch_size, runtime):
        weights_seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scripted)

    monkeypatch.setattr(training, "evaluate", scripted_evaluate)
    model, result = train_small(small_splits, tmp_path, epochs=5, early_stop=2)
    assert len(result.history) == 4 and result.stopped_early and result.best_epoch == result.kept_epoch == 2
    best = weights_seen[1]
    assert all(torch.equal(value, best[key]) for key, value in model.state_dict().items())
    assert not torch.equal(weights_seen[3]["classifier.4.weight"], best["classifier.4.weight"])


def test_a_run_that_finishes_its_schedule_keeps_its_final_weights(small_splits, tmp_path, monkeypatch):
    scripted = iter([(0.5, 0.50), (0.4, 0.70), (0.45, 0.60)])
    monkeypatch.setattr(training, "evaluate", lambda *args: next(scripted))
    model, result = train_small(small_splits, tmp_path, epochs=3, early_stop=2)
    assert not result.stopped_early and result.best_epoch == 2 and result.kept_epoch == 3
    final = checkpoint.load_training_state(tmp_path / "checkpoint.pt")["model"]
    assert all(torch.equal(value, final[key]) for key, value in model.state_dict().items())


def test_gradient_clipping_bounds_the_norm_and_logs_it(small_splits, tmp_path, monkeypatch):
    norms_at_step = []

    def recording_optimizer(model, config):
        optimizer = make_optimizer(model, config)
        grads = lambda: [p.grad for p in model.parameters() if p.grad is not None]  # noqa: E731
        optimizer.register_step_pre_hook(
            lambda *_: norms_at_step.append(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g) for g in grads()])).item()))
        return optimizer

    monkeypatch.setattr(training, "make_optimizer", recording_optimizer)
    _, result = train_small(small_splits, tmp_path, epochs=1, grad_clip=0.05)
    assert max(norms_at_step) <= 0.05 * 1.001
    assert result.history[0]["grad_norm_max"] > 0.05  # unclipped norms were larger: clipping acted


def test_interrupt_flag_stops_between_steps(small_splits, tmp_path, monkeypatch):
    calls = iter(range(10_000))
    monkeypatch.setattr(training._StopRequests, "agreed",
                        lambda self, runtime: signal.SIGINT if next(calls) == 20 else 0)
    with pytest.raises(training.TrainingInterrupted, match="SIGINT received after 1 completed epoch") as info:
        train_small(small_splits, tmp_path)
    assert info.value.completed_epochs == 1 and (tmp_path / "checkpoint.pt").is_file()


def cpu_bf16_autocast(device):
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_bf16_autocast_keeps_the_trained_models_predictions(mnist, monkeypatch):
    """CUDA runs under bf16 autocast; CPU autocast does the same arithmetic, so this checks here
    that the mixed-precision path changes the answers by float noise only."""
    model, _ = load_trained_model(REPO_DIR / "output_improved" / "model.safetensors")
    images = to_float(mnist.test_images[:2000])
    float32 = predict_logits(model, images, batch_size=500)
    monkeypatch.setattr(training, "autocast", cpu_bf16_autocast)
    bfloat16 = predict_logits(model, images, batch_size=500)
    assert bfloat16.dtype == torch.float32 and not torch.equal(bfloat16, float32), "autocast did not run"
    assert (bfloat16.argmax(1) == float32.argmax(1)).float().mean() >= 0.998
    assert (bfloat16 - float32).abs().max() < 0.5


def test_training_under_bf16_autocast_learns(small_splits, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "autocast", cpu_bf16_autocast)
    _, result = train_small(small_splits, tmp_path)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] * 0.6
    assert result.history[-1]["val_accuracy"] > 0.8


def test_compiled_training_learns_and_saves_plain_weights(small_splits, tmp_path):
    model, result = train_small(small_splits, tmp_path, epochs=2, compile=True)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    saved = checkpoint.load_training_state(tmp_path / "checkpoint.pt")["model"]
    assert saved.keys() == model.state_dict().keys(), "the checkpoint holds the model, not the compiled wrapper"
    model.load_state_dict(saved)  # strict: an uncompiled model takes the weights as they are


def test_weight_averaging_is_what_is_validated_and_kept(small_splits, tmp_path, monkeypatch):
    validated = []
    original = training.evaluate
    monkeypatch.setattr(training, "evaluate", lambda model, *a: validated.append(model) or original(model, *a))
    model, result = train_small(small_splits, tmp_path, ema=0.9)
    assert all(m is not model for m in validated)  # the average, not the last weights
    final = {k: v.clone() for k, v in validated[-1].state_dict().items()}
    assert all(torch.equal(final[k], v) for k, v in model.state_dict().items())
    assert result.history[-1]["val_accuracy"] > 0.8
    state = checkpoint.load_training_state(tmp_path / "checkpoint.pt")
    assert state["averaged"] is not None and int(state["averaged"]["n_averaged"]) == 3 * 16


def test_an_interrupted_run_with_weight_averaging_resumes_to_the_same_weights(small_splits, tmp_path):
    # A constant rate, so that two epochs of a 2-epoch run are the first two of a 3-epoch one.
    uninterrupted, _ = train_small(small_splits, tmp_path / "a", ema=0.9, schedule="none")
    train_small(small_splits, tmp_path / "b", ema=0.9, schedule="none", epochs=2)
    state = checkpoint.load_training_state(tmp_path / "b" / "checkpoint.pt")
    state["config"]["epochs"] = 3  # as if a 3-epoch run had stopped after its second epoch
    checkpoint.save_training_state(tmp_path / "b" / "checkpoint.pt", state)
    torch.manual_seed(0)
    resumed = BasicCNN().to(memory_format=torch.channels_last)
    fit(resumed, "basic_cnn", *small_splits, small_config(ema=0.9, schedule="none", resume=True), CPU,
        tmp_path / "b" / "checkpoint.pt")
    for name, value in uninterrupted.state_dict().items():
        assert torch.allclose(value, resumed.state_dict()[name]), name
