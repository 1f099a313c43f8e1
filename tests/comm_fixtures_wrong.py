"""User tasks (`module:function` returning a Case) whose C-RASP programs are WRONG, for the
communication tests: `verify comm-complexity` must refute them, never call them expressible."""
import dataclasses

from verify.catalogue import get_case
from verify.crasp.parser import parse_program

DYCK_ACCEPT_CLOSE = '''alphabet "(" ")"
accept = ")"
'''

# a majority program offered for parity: e when zeros win, o when ones win
MAJORITY_FOR_PARITY = '''alphabet "<bos>" "0" "1" "<sep>" "e" "o" "<eos>"
let ones  = #["1"]
let zeros = #["0"]
next "e" = "<sep>" and zeros >= ones
next "o" = "<sep>" and ones > zeros
next "<eos>" = not "<sep>"
'''


def dyck1_accept_close():
    """Dyck-1 with `accept = ")"`: a 0-bit protocol against Dyck-1's growing row bound."""
    return dataclasses.replace(get_case("dyck1"), name="dyck1_accept_close",
                               program=lambda: parse_program(DYCK_ACCEPT_CLOSE, "dyck1_accept_close"))


def parity_by_majority():
    """Parity with a majority program: as many bits as needed, but the wrong function."""
    return dataclasses.replace(get_case("parity"), name="parity_by_majority",
                               program=lambda: parse_program(MAJORITY_FOR_PARITY, "parity_by_majority"),
                               no_program_reason="")


def not_a_case():
    return 42


PARITY_SILENT = '''alphabet "<bos>" "0" "1" "<sep>" "e" "o" "<eos>"
next "e" = "<sep>"
next "<eos>" = not "<sep>"
'''


def parity_silent():
    """Parity with a program that always answers e: a 0-bit protocol (a sequence task's row bound)."""
    return dataclasses.replace(get_case("parity"), name="parity_silent",
                               program=lambda: parse_program(PARITY_SILENT, "parity_silent"),
                               no_program_reason="")


def copy_by_successor():
    """Copy with repeated symbols (the name `repeat_copy` carries the injectivity certificate), given the
    unique-copy program, which predicts the successor of the last copied token: O(log N) bits against the
    certified N, so two Alice halves share a message."""
    from cases.copy import unique_copy_program
    from test_comm_fixtures import COPY

    def sampler(rng, batch, n):
        return [tuple("ab"[i] for i in row) for row in rng.integers(0, 2, size=(batch, n))]
    return dataclasses.replace(COPY, program=unique_copy_program(("a", "b")), sampler=sampler)
