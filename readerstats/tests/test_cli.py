"""``python -m readerstats``: the analyses on CSV files give what the functions give, and bad files stop with one
line on standard error and exit status 2; the README's examples run as written."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import readerstats
from readerstats.cli import main

PACKAGE = Path(readerstats.__file__).parent
ROOT = PACKAGE.parent
VANDYKE = PACKAGE / "tests" / "reference" / "vandyke.csv"
BATTERY = PACKAGE / "tests" / "reference" / "lme4" / "battery.csv"


def run(capsys, *argv):
    status = main([str(value) for value in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_or_on_van_dyke_prints_the_published_rrrc(capsys):
    status, out, err = run(capsys, "or", VANDYKE, "--fom", "auc", "--positive", "1")
    assert status == 0 and err == ""
    assert "RRRC: statistic 4.4563 on 1 and 15.26 df, p 0.052" in out
    assert "1 - 2: -0.04380 (SE 0.02075), CI (-0.0880, 0.0004)" in out


def test_json_output_is_the_functions_result(capsys):
    data = readerstats.read_vandyke()
    expected = readerstats.dbm_analysis(
        data["reader"], data["modality"], data["case"], data["truth"], data["rating"], fom="auc", positive=1
    ).to_dict()
    status, out, _ = run(capsys, "dbm", VANDYKE, "--fom", "auc", "--positive", "1", "--json")
    assert status == 0
    printed = json.loads(out)
    assert printed["rrrc"]["statistic"] == pytest.approx(expected["rrrc"]["statistic"])
    assert printed["variance"] == pytest.approx(expected["variance"])


def write(tmp_path, text, name="answers.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def split_plot_csv(tmp_path):
    lines = ["reader,model,item,truth,answer"]
    import csv

    with BATTERY.open() as handle:
        for row in csv.DictReader(handle):
            if row["design"] == "s02":
                answer = (
                    row["truth"]
                    if row["correct"] == "1"
                    else ("real" if row["truth"] == "synthetic" else "synthetic")
                )
                lines.append(f"{row['reader']},{row['model']},{row['item']},{row['truth']},{answer}")
    return write(tmp_path, "\n".join(lines) + "\n")


def test_compare_and_split_plot_on_a_split_plot_study(tmp_path, capsys):
    path = split_plot_csv(tmp_path)
    status, out, _ = run(capsys, "compare", path, "--json")
    assert status == 0
    result = json.loads(out)
    assert result["design"] == "split-plot (each model its own reader panel)"
    assert result["omnibus"]["statistic"] == pytest.approx(3.3595, abs=2e-3)  # lme4's likelihood ratio
    status, out, _ = run(capsys, "split-plot", path)
    assert status == 0 and "RRRC: statistic" in out and "M1 - M2" in out
    status, out, _ = run(capsys, "glmm", path)
    assert status == 0 and out.count("accuracy") == 3


def test_not_estimable_is_said_not_crashed(tmp_path, capsys):
    path = write(tmp_path, "reader,modality,case,truth,answer\nR1,A,1,real,real\nR1,A,2,synthetic,real\n")
    status, out, _ = run(capsys, "or", path)
    assert status == 0 and "not estimable because there is one reader" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("", "is empty: a header row and one row per reading are needed"),
        ("reader,modality,case,truth,answer\n", "has a header but no readings"),
        (
            "doctor,modality,case,truth,answer\nR1,A,1,real,real\n",
            "has no 'reader' column (its columns: doctor,",
        ),
        ("reader,case,truth,answer\nR1,1,real,real\n", "has no 'modality' or 'model' or 'survey' column"),
        ("reader,modality,case,truth,answer\nR1,A,1,real\n", "line 2 has 4 fields, the header has 5"),
        ("reader,modality,case,truth,answer\nR1,A,,real,real\n", "line 2: the case is empty"),
        ("reader,modality,case,truth,rating\nR1,A,1,1,high\n", "line 2: the rating 'high' is not a number"),
        (
            "reader,modality,case,truth,rating\nR1,A,1,1,nan\n",
            "line 2: the rating 'nan' is not a finite number",
        ),
        (
            "reader,modality,case,truth,answer\nR1,A,1,maybe,real\nR2,A,1,maybe,real\n",
            "line 2: truth must be one of",
        ),
        ("reader,modality,case,truth,answer\nR1,A,1,real,yes\n", "line 2: answer must be one of"),
        ('reader,modality,case,truth,answer\nR1,A,"1,real,real\n', "not valid CSV"),
    ],
)
def test_bad_files_stop_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "missing.csv" if content is None else write(tmp_path, content)
    fom = ["--fom", "auc", "--positive", "1"] if content and "rating" in content else []
    analysis = "glmm" if content and ("maybe" in content or "yes" in content) else "or"
    status, out, err = run(capsys, analysis, path, *fom)
    assert status == 2 and out == ""
    assert err.startswith("readerstats: error: ") and message in err
    assert err.count("\n") == 1


def test_binary_and_folder_inputs_are_refused(tmp_path, capsys):
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x00\x00")
    assert run(capsys, "or", binary)[2].startswith("readerstats: error: ")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("reader,modality,case,truth,answer\nR\xe9,A,1,real,real\n".encode("latin-1"))
    assert "is not UTF-8 text" in run(capsys, "or", latin)[2]
    assert "is a folder" in run(capsys, "or", tmp_path)[2]


def test_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["or", str(VANDYKE), "--fom", "kappa"])
    status, _, err = run(capsys, "glmm", VANDYKE, "--fom", "auc")
    assert status == 2 and "the glmm analysis uses accuracy" in err


def test_python_dash_m_entry_point():
    completed = subprocess.run(
        [sys.executable, "-m", "readerstats", "or", str(VANDYKE), "--fom", "auc", "--positive", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert completed.returncode == 0 and "RRRC: statistic 4.4563" in completed.stdout


def test_readme_examples_run():
    readme = (PACKAGE / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102
    commands = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)[0].strip().splitlines()
    for command in commands:
        arguments = command.split()[3:]  # after "python -m readerstats"
        completed = subprocess.run(
            [sys.executable, "-m", "readerstats", *arguments],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert completed.returncode == 0, (command, completed.stderr)
