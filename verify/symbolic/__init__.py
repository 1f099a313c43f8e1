"""sympy decisions about positional-encoding families: PERIODIC, translation invariance, locality."""
