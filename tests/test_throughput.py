"""tools/throughput.py: FLOPs, step time and the profile of one training step."""

from tools import throughput


def test_throughput_report(mnist, tmp_path):
    out = tmp_path / "throughput.md"
    assert throughput.main(["--model", "basic", "--steps", "1", "--device", "cpu", "--out", str(out)]) == 0
    text = out.read_text()
    flops = float(text.split("| FLOPs per training digit")[1].split("|")[1].split()[0])
    assert 12 < flops < 20  # basic CNN: 5.8 MFLOPs forward, about three times that with backward
    assert "| step time |" in text and "| operation | share | calls per step |" in text
