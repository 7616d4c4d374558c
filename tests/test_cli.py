"""The ``fastvfx`` command line: a quick ``fastvfx bench`` run writes a report
that follows its JSON schema, with a Markdown table and a PNG chart that agree
with it; bad arguments give clear messages and exit status 2."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from fastvfx import cli
from fastvfx.bench import report, run

# The smallest cases of three families: the run stays a few seconds.
SMALL_CASES = ("online-1x64x56x56-NCHW", "tfc 1x1-1x512x7x7-NCHW", "tfc 1x1 bf16-1x512x7x7-NCHW")


def _case_ids() -> list[str]:
    return [case.id for _, case in run.family_cases()]


def test_list_names_every_case_once(capsys):
    assert cli.main(["bench", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [line.split(maxsplit=1)[1] for line in lines]
    assert ids == _case_ids()
    assert len(set(ids)) == len(ids), "case ids must be unique: --filter and the report key on them"
    families = {line.split()[0] for line in lines}
    assert families == set(run.FAMILIES)


@pytest.mark.parametrize("case_id", SMALL_CASES)
def test_small_cases_exist(case_id):
    assert case_id in _case_ids()


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    runs = []
    for case_id in SMALL_CASES:
        sub = out / case_id.split("-")[0].replace(" ", "_")
        assert cli.main(["bench", "--quick", "--filter", case_id, "--out", str(sub), "--threads", "1"]) == 0
        runs.append(sub)
    return runs


def test_report_follows_schema(quick_report):
    for out in quick_report:
        document = json.loads((out / "report.json").read_text())
        jsonschema.validate(document, report.schema())
        assert len(document["cases"]) == 1
        assert document["torch_threads"] == 1
        assert document["device"] == "cpu" and document["unsupported"] == []
        assert "--threads 1" in document["command"]


def test_report_numbers_agree(quick_report):
    for out in quick_report:
        document = json.loads((out / "report.json").read_text())
        case = document["cases"][0]
        stats = case["stats"]
        assert case["baseline_ms"] == pytest.approx(1e3 * stats["baseline"]["median_s"])
        assert case["fastvfx_ms"] == pytest.approx(1e3 * stats["fastvfx"]["median_s"])
        # The speed-up is the median of the same-round ratios, one per round.
        rounds = case["speedup_rounds"]
        assert case["speedup"] == pytest.approx(rounds["median"])
        assert rounds["q1"] <= case["speedup"] <= rounds["q3"]
        assert rounds["rounds"] == stats["fastvfx"]["repeats"] == stats["baseline"]["repeats"]
        assert stats["fastvfx"]["min_s"] <= stats["fastvfx"]["median_s"] <= stats["fastvfx"]["max_s"]
        markdown = (out / "report.md").read_text()
        assert f"{case['speedup']:.2f}x" in markdown
        assert document["command"] in markdown


def test_report_ends_with_a_summary(quick_report, capsys):
    for out in quick_report:
        document = json.loads((out / "report.json").read_text())
        # The 16bit family's baseline is fastvfx in float32: its own verdict, no PyTorch one.
        sixteen_bit = document["cases"][0]["family"] == "16bit"
        verdict = "fastvfx in 16 bits is faster than in float32 in" if sixteen_bit else \
            "fastvfx is faster than the PyTorch baseline in"
        assert any(line.startswith(verdict) for line in document["summary"])
        assert any("PyTorch baseline" in line for line in document["summary"]) != sixteen_bit
        markdown = (out / "report.md").read_text()
        assert "## Summary" in markdown and document["summary"][0] in markdown
        assert "MISSED" not in markdown


def test_load_warning_is_repeated_at_the_end(tmp_path, monkeypatch, capsys):
    from fastvfx.bench import run as bench_run

    monkeypatch.setattr(bench_run.os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    out = tmp_path / "loaded"
    assert cli.main(["bench", "--quick", "--filter", SMALL_CASES[0], "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("WARNING: load average 99.00")
    assert sum(line.startswith("WARNING: load average") for line in printed) == 2
    document = json.loads((out / "report.json").read_text())
    assert "99.00" in document["load_warning"]
    assert "**Warning:** load average 99.00" in (out / "report.md").read_text()


def test_chart_is_a_png(quick_report):
    for out in quick_report:
        document = json.loads((out / "report.json").read_text())
        assert document["files"]["chart"] == "speedups.png"
        data = (out / "speedups.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        assert width == 1000 and height > 100
        assert "![speed-ups](speedups.png)" in (out / "report.md").read_text()


def test_schema_rejects_a_broken_report(quick_report):
    document = json.loads((quick_report[0] / "report.json").read_text())
    document["cases"][0]["speedup"] = -1.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, report.schema())
    del document["cases"][0]["stats"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, report.schema())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--threads", "0"], "must be at least 1"),
        (["bench", "--threads", "two"], "is not an integer"),
        (["bench", "--only", "resnet"], "invalid choice"),
        (["bench", "--frobnicate"], "unrecognized arguments"),
        (["launch"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_version_is_the_project_version(capsys):
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE).group(1)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastvfx {version}"


def test_filter_matching_nothing(capsys, tmp_path):
    assert cli.main(["bench", "--quick", "--filter", "no-such-case", "--out", str(tmp_path / "r")]) == 2
    assert "no benchmark case matches" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_out_is_a_file(capsys, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["bench", "--quick", "--out", str(target)]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_progress_counts_and_bar():
    import io

    stream = io.StringIO()
    progress = report.Progress(4, stream=stream, width=8)
    for label in "abcd":
        progress.begin(label)
        progress.end("1.00x")
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines[:4]] == ["1/4", "2/4", "3/4", "4/4"]
    assert lines[0].startswith("[........]") and lines[2].startswith("[####....]")
    assert lines[-1].startswith("[########] 4/4")


def test_stream_runs_both_backends_and_they_agree(tmp_path, capsys):
    out = tmp_path / "stream.json"
    argv = ["stream", "--frames", "6", "--warmup", "2", "--size", "64", "--threads", "1", "--json", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "logits after the last frame agree: yes" in printed
    document = json.loads(out.read_text())
    assert set(document["backends"]) == {"torch", "fastvfx"}
    for figures in document["backends"].values():
        assert figures["frames"] == 6
        assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
        assert figures["rss_end_mib"] > 0 and figures["rss_after_warmup_mib"] > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["stream", "--frames", "0"], "must be at least 1"),
        (["stream", "--warmup", "-1"], "must be at least 0"),
        (["stream", "--backend", "tvm"], "invalid choice"),
        (["stream", "--conv-type", "2d"], "invalid choice"),
    ],
)
def test_stream_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
