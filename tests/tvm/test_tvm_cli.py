"""The tune and build command lines: clear errors on bad input, and a tiny
tuning run whose best schedule the build applies and that still computes
the reference result."""

from __future__ import annotations

import json
import socket

import pytest
import torch

from tvm_schedules import build, shapes, tune
from tvm_test_support import assert_arguments_match, expected_arguments, make_arguments

pytest.importorskip("tvm", reason="Apache TVM is not installed: pip install 'fastvfx[tvm]' (CI: .ci/tvm.sh)")


def _run(main, argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err


def test_unknown_target(capsys, tmp_path):
    code, err = _run(build.main, ["--target", "rpi9", "--shapes", "small", "--out", str(tmp_path)], capsys)
    assert code == 2 and "unknown target 'rpi9'" in err and "rpi4" in err
    code, err = _run(tune.main, ["--target", "rpi9", "--trials", "4"], capsys)
    assert code == 2 and "unknown target 'rpi9'" in err


def test_unknown_shape_set(capsys, tmp_path):
    code, err = _run(build.main, ["--target", "rpi4", "--shapes", "movinet-a9", "--out", str(tmp_path)], capsys)
    assert code == 2 and "unknown shape set 'movinet-a9'" in err and "movinet-a0" in err
    code, err = _run(tune.main, ["--target", "host", "--trials", "4", "--shapes", "resnet"], capsys)
    assert code == 2 and "unknown shape set 'resnet'" in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the with block ends


def test_unreachable_tracker(capsys):
    port = _closed_port()
    code, err = _run(tune.main, ["--target", "rpi4", "--trials", "4", "--rpc-tracker", f"127.0.0.1:{port}",
                                 "--rpc-key", "rpi4"], capsys)
    assert code == 2 and f"cannot reach the RPC tracker at 127.0.0.1:{port}" in err


def test_malformed_tracker_and_missing_key(capsys):
    code, err = _run(tune.main, ["--target", "rpi4", "--trials", "4", "--rpc-tracker", "board", "--rpc-key", "k"],
                     capsys)
    assert code == 2 and "HOST:PORT" in err
    code, err = _run(tune.main, ["--target", "rpi4", "--trials", "4", "--rpc-tracker", "127.0.0.1:9190"], capsys)
    assert code == 2 and "--rpc-key" in err


def test_board_without_tracker(capsys):
    code, err = _run(tune.main, ["--target", "rpi4", "--trials", "4"], capsys)
    assert code == 2 and "--rpc-tracker" in err


def test_unknown_kernel(capsys):
    code, err = _run(tune.main, ["--target", "host", "--trials", "4", "--kernels", "tfc_huge"], capsys)
    assert code == 2 and "tfc_huge" in err and "tfc_small" in err


def test_missing_database(capsys, tmp_path):
    code, err = _run(build.main, ["--target", "host", "--shapes", "small", "--out", str(tmp_path / "out"),
                                  "--db", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "does not exist" in err


def test_tune_then_build_applies_tuned_schedule(tmp_path):
    """A handful of trials (random cost model) on one small kernel: the
    database is written, the build picks the tuned schedule for that kernel
    (and the hand schedule for the rest), and the tuned kernel is correct."""
    db = tmp_path / "db"
    name = "dwconv3d_clip_small"
    tune.tune("host", 4, "small", [name], str(db), cost_model="random", trials_per_iter=4, log=lambda *_: None)
    assert (db / "database_tuning_record.json").stat().st_size > 0
    paths = build.build_artifacts("host", "small", str(tmp_path / "out"), database=str(db), log=lambda *_: None)
    how = {k["name"]: k["schedule"] for k in json.load(open(paths["manifest"]))["kernels"]}
    assert how[name] == "tuned"
    assert {v for k, v in how.items() if k != name} == {"hand"}
    kernel = next(k for k in shapes.small() if k.name == name)
    fn = build.host_function(kernel, build.open_database(str(db)))
    values = make_arguments(kernel)
    expected = expected_arguments(kernel, values)
    fn(*values)
    assert_arguments_match(kernel, values, expected)
    assert not torch.isnan(values[-1]).any()
