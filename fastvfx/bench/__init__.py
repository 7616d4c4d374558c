"""Benchmarks of the fastvfx ops and models against the PyTorch baselines.

Every number is a ratio taken in one run (DESIGN.md, "What fast means here"):
the baseline (the upstream pure-PyTorch formulation) and the fastvfx candidate
are timed in interleaved rounds; the shift ops are also set against ``memcpy``
of the same tensor in the same rounds.

- :mod:`.timing`: the budget, the interleaved timer and its statistics;
- :mod:`.case`: a case, its check against the baseline, its timing and result;
- one module of cases per family, each with ``cases()``: :mod:`.shift`,
  :mod:`.dwconv3d`, :mod:`.tfc`, :mod:`.blocks` (MobileNetV2-TSM's fused
  inverted residual blocks), :mod:`.models` (with :mod:`.ort`, ONNX
  Runtime as a third contender of the model cases), :mod:`.mixed_precision`
  (family "16bit": the 16-bit kernels against the same op in float32);
- :mod:`.summary`: geomeans per family, the verdict, load warning, run comparison;
- :mod:`.report`: progress, table, report.json / report.md / chart;
- :mod:`.run`: the families, case selection and the ``fastvfx bench`` run.

The cases are used by ``fastvfx bench`` and by the pytest-benchmark suites in
``bench/``. Nothing else in fastvfx imports this package.
"""

from .case import Case, Result, measure_case, measure_until_quiet, prepare, threads_for, verify
from .report import format_table
from .run import FAMILIES, cases, family_cases, family_of, run_report
from .summary import summary_lines
from .timing import DEFAULT, QUICK, Budget, InterleavedTimer, keep_freed_memory, summarize, warm_up

__all__ = [
    "Budget", "Case", "DEFAULT", "FAMILIES", "InterleavedTimer", "QUICK", "Result", "cases", "family_cases",
    "family_of", "format_table", "keep_freed_memory", "measure_case", "measure_until_quiet", "prepare", "run_report",
    "summarize", "summary_lines", "threads_for", "verify", "warm_up",
]
