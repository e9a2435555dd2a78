"""The README's main job: ``python -m skdae``."""

import re
import subprocess
import sys

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
    wrong = tmp_path / "wrong"
    monkeypatch.setenv("SKDAE_DATA", str(wrong))
    assert main(["--epochs", "1", "--n-components", "8", "--n-train", "300"]) == 0
    captured = capsys.readouterr()
    # One line that names the folders it looked in.
    (note,) = captured.err.splitlines()
    assert note.startswith(f"MNIST not found in {wrong} or {wrong / 'mnist'} ")
    assert "using scikit-learn's bundled digits" in note
    assert "digits" in captured.out


def test_main_job_with_mnist_requested_but_absent_exits_with_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))
    with pytest.raises(SystemExit, match="MNIST not found"):
        main(["--dataset", "mnist"])


def test_main_job_with_unreadable_mnist_exits_with_message(tmp_path, monkeypatch):
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        (tmp_path / name).write_bytes(b"not an IDX file")
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path))
    with pytest.raises(SystemExit, match="MNIST could not be read: .*train-images-idx3-ubyte"):
        main([])


@pytest.mark.parametrize("option, value, expected", [
    ("--n-components", "0", "an integer >= 1"),
    ("--epochs", "0", "an integer >= 1"),
    ("--epochs", "2.5", "an integer >= 1"),
    ("--corruption-level", "1.5", r"a number in \[0, 1\]"),
    ("--corruption-level", "-0.1", r"a number in \[0, 1\]"),
    ("--corruption-level", "nan", r"a number in \[0, 1\]"),
    ("--n-train", "5", "an integer >= 10"),
    ("--n-train", "0", "an integer >= 10"),
    ("--n-train", "-100", "an integer >= 10"),
    ("--seed", "-1", r"an integer in \[0, 4294967295\]"),
])
def test_main_job_rejects_bad_options_with_an_argparse_error(capsys, option, value, expected):
    with pytest.raises(SystemExit) as excinfo:
        main(["--dataset", "digits", option, value])
    assert excinfo.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"python -m skdae: error: argument {option}: must be ")
    assert f"got '{value}'" in error
    assert re.search(expected, error)


def test_main_job_bad_option_is_one_error_line_and_no_traceback(tmp_path):
    # (run outside the source tree, so that the installed package is imported)
    run = subprocess.run([sys.executable, "-m", "skdae", "--n-train", "5"],
                         capture_output=True, text=True, check=False, cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if "error:" in line] == [
        "python -m skdae: error: argument --n-train: must be an integer >= 10; got '5'"]
    assert run.stdout == ""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_main_job_on_few_training_rows_keeps_pca_within_them(capsys):
    assert main(["--dataset", "digits", "--n-train", "10", "--n-components", "32",
                 "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "10 train" in out and "k = 32" in out
    rows = [line.split()[0] for line in out.splitlines()[3:]]
    assert rows == ["raw", "PCA(10)", "DAE(32),"]
