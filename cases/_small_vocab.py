"""Each sequence family at a small vocabulary: the catalogue's sequence tasks run over 26 letters or 100 tokens,
which Z3 handles, but a mutation test (thousands of equivalence proofs) or a step-by-step comparison would
take minutes to hours there. One list for every test that needs them small."""
from __future__ import annotations

from typing import List

from verify.case import Case


def small_sequence_cases(size: int = 3) -> List[Case]:
    """sort, unique copy, count and unique reverse over `size` tokens, unique bigram copy over 2, and the
    binary majorities (already small)."""
    from cases.copy import make_unique_copy
    from cases.sort import make_sort
    from cases.unique_tasks import make_count, make_unique_bigram_copy, make_unique_reverse
    from verify.catalogue import get_case
    return [make_sort(size), make_unique_copy(size), make_count(size), make_unique_reverse(size),
            make_unique_bigram_copy(2), get_case("bin_majority"), get_case("bin_majority_interleave")]
