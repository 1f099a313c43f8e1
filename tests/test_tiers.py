"""The two test commands (README "Tests"): `make test` is the fast tier — every test module, less the tests marked
`slow` — and prints the slowest tests; `make test-all` runs everything and is what CI runs."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _is_slow(node) -> bool:
    return "mark.slow" in ast.unparse(node)


def module_tests(path: Path):
    """(every test function of a module, those of them not marked slow by a decorator or the module's pytestmark)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    every = [node for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")]
    module_slow = any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
                      and _is_slow(node.value) for node in tree.body)
    fast = [] if module_slow else [n.name for n in every if not any(_is_slow(d) for d in n.decorator_list)]
    return [n.name for n in every], fast


def test_every_test_module_has_fast_tests():
    modules = sorted((ROOT / "tests").glob("test_*.py"))
    assert len(modules) > 40
    without = [m.name for m in modules if module_tests(m)[0] and not module_tests(m)[1]]   # (not a helper module)
    assert without == [], f"modules with no test in the fast tier (make test): {without}"


def test_make_test_is_the_fast_tier_and_ci_runs_everything():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    rules = dict(re.findall(r"^([\w-]+):[^\n]*\n\t([^\n]+)", makefile, flags=re.M))
    assert '-m "not slow"' in rules["test"] and "--durations=15" in rules["test"]
    assert "not slow" not in rules["test-all"] and "--durations=15" in rules["test-all"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test-all$", ci, flags=re.M) and not re.search(r"^make test$", ci, flags=re.M)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    top = readme.split("```")[1]
    assert [line.split("#")[0].strip() for line in top.strip().splitlines()] == ["make demo", "make test"]
    assert "make test-all" in readme.split("## ")[0]
