"""Z3 backend: counterexamples to claimed C-RASP programs, bounded equivalence, proofs for all lengths.

One stage per module:
  encode.py     a program as a Z3 transition system (state: counts, recent guarded operands),
                exact with respect to the interpreter
  specs.py      specifications as Z3 machines with independent references: DFA (case record,
                regular expression, transition table), CounterSpec, another program, a predicate
                over prefix counts, a constant (emptiness)
  miter.py      program × specification, with a "disagree here" output per position
  refute.py     shortest counterexample by incremental bounded model checking, always replayed
  induction.py  k-induction strengthened by trace-inferred invariants proved by Houdini
  equiv.py      equivalence and emptiness of programs
  mutate.py     mutation harness: each mutant refuted or proved equivalent
  report_columns.py  the `verify report` column (cached)
"""
