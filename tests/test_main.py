"""The README's main job: ``python -m skdae``."""

import pytest

from skdae.__main__ import main


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_main_job_on_digits_prints_comparison_table(capsys):
    assert main(["--dataset", "digits", "--epochs", "3", "--n-components", "32"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out
    lines = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    assert {"raw", "PCA(32)", "DAE(32),"} <= lines


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_main_job_falls_back_to_digits_when_mnist_is_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))
    assert main(["--epochs", "1", "--n-components", "8", "--n-train", "300"]) == 0
    captured = capsys.readouterr()
    assert "MNIST not found" in captured.err
    assert "digits" in captured.out


def test_main_job_with_mnist_requested_but_absent_exits_with_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))
    with pytest.raises(SystemExit, match="MNIST not found"):
        main(["--dataset", "mnist"])

