"""Communication complexity (SPEC §4, Theorem 12): Alice/Bob protocols for C-RASP[periodic,local]
programs and Limit Transformers, communication matrices, certified lower bounds, growth fits."""
