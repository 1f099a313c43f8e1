"""Run every benchmark script in bench/ (each prints its own figures)."""
import pathlib
import runpy
import sys

here = pathlib.Path(__file__).parent
only = sys.argv[1:]
for script in sorted(here.glob("bench_*.py")):
    if only and not any(o in script.name for o in only):
        continue
    print(f"== {script.name}")
    runpy.run_path(str(script), run_name="__main__")
