"""tools/ensemble.py: test-time augmentation and an ensemble of runs, on a few hundred images."""

from conftest import REPO_DIR
from tools import ensemble


def test_ensemble_report(mnist, tmp_path):
    out = tmp_path / "ensemble.md"
    runs = [str(REPO_DIR / "output_improved"), str(REPO_DIR / "output_basic")]
    assert ensemble.main([*runs, "--count", "300", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| output_improved | 0 |" in text and "| ensemble of 2 |" in text and "| with TTA |" in text
    assert "300 test images" in text


def test_ensemble_without_runs_is_a_clear_error(tmp_path, capsys):
    assert ensemble.main([str(tmp_path)]) == 2
    assert "no run folders with a model.onnx" in capsys.readouterr().err
