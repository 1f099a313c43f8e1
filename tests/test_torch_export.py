"""Compiled programs as torch modules; the theorem checks; the core never needs torch."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_theorem_checks_answer_unknown_without_torch(monkeypatch):
    import theorems.torch_bridge_checks as checks
    monkeypatch.setattr(checks, "_torch", lambda: None)
    for check in (checks.regularizer_torch_equals_numpy, checks.export_matches_numpy):
        report = check()
        assert report.status == "unknown" and report.verdicts[0].reason == "torch not installed"


def test_core_and_numpy_modules_do_not_import_torch():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from verify.cli import _register_commands; _register_commands()\n"
            "import torch_bridge, torch_bridge.audit, torch_bridge.scores, torch_bridge.results, torch_bridge.positional\n"
            "import theorems.torch_bridge_checks\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n" % str(ROOT))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_commands_without_torch_say_how_to_get_it(tmp_path):
    code = ("import sys; sys.path.insert(0, %r); sys.modules['torch'] = None\n"
            "from verify.cli import main\n"
            "sys.exit(main(['audit', %r]))\n" % (str(ROOT), str(tmp_path)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "pip install 'lengthgen-verify[torch]'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.torch
def test_compiled_models_in_torch_equal_the_numpy_forward():
    pytest.importorskip("torch")
    from torch_bridge.export import compare_with_numpy, export
    from verify.crasp.interpreter import prefix_outputs
    from verify.limit import examples
    from verify.limit.compiler import compile_program
    from verify.limit.realize import realize
    rng = np.random.default_rng(0)
    for prog in (examples.dyck1(), examples.majority(), examples.aa_star(), examples.ends_ab()):
        limit = compile_program(prog)
        for model in (limit, realize(limit, 40), realize(limit, 40, dense=True)):
            ids = rng.integers(0, 2, size=(10, 33))
            res = compare_with_numpy(model, ids, offset=0)
            assert res["max_abs_diff"] <= 1e-12 and res["outputs_agree"]
            # and the torch module decides the language like the interpreter
            got = export(model).outputs(ids)["accept"]
            assert np.array_equal(got, prefix_outputs(prog, ids))


@pytest.mark.torch
def test_exported_module_respects_the_context():
    pytest.importorskip("torch")
    import torch
    from torch_bridge.export import export
    from verify.limit import examples
    from verify.limit.compiler import compile_program
    from verify.limit.realize import realize
    module = export(realize(compile_program(examples.ends_ab()), 16))
    with pytest.raises(ValueError):
        module(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.torch
@pytest.mark.slow
def test_torch_bridge_theorem_checks_hold():
    pytest.importorskip("torch")
    from theorems.torch_bridge_checks import CHECKS
    for check in CHECKS:
        report = check()
        assert report.status == "holds", [v.summary() for v in report.verdicts]
