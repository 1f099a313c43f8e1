"""Stand-in task records for the communication tests (the catalogue's algorithmic cases are built
elsewhere; these follow SPEC §5's formats so the tests do not depend on them)."""
from verify.case import SEQUENCE, Case


def _add(tokens):
    a, _, b = "".join(tokens).partition("+")
    return tuple(format(int(a, 2) + int(b, 2), "b").zfill(max(len(a), len(b)) + 1))


def _valid_add(tokens):
    text = "".join(tokens)
    return text.count("+") == 1 and not text.startswith("+") and not text.endswith("+")


COPY = Case("repeat_copy", "algorithmic", SEQUENCE, ("<bos>", "a", "b", "<sep>", "<eos>"), "copy",
            answer=lambda t: tuple(t), input_alphabet=("a", "b"))
BAD_COPY = Case("repeat_copy", "algorithmic", SEQUENCE, ("<bos>", "a", "b", "<sep>", "<eos>"), "copy, buggy",
                answer=lambda t: tuple(t[:-1]) + ("a",), input_alphabet=("a", "b"))
ADDITION = Case("addition", "algorithmic", SEQUENCE, ("<bos>", "0", "1", "+", "=", "<eos>"), "a+b",
                answer=_add, input_alphabet=("0", "1", "+"), valid_input=_valid_add, sep="=")
NO_CARRY = Case("addition", "algorithmic", SEQUENCE, ("<bos>", "0", "1", "+", "=", "<eos>"), "xor, not a+b",
                answer=lambda t: tuple(str(int(x) ^ int(y)) for x, y in zip("".join(t).partition("+")[0],
                                                                             "".join(t).partition("+")[2])) or ("0",),
                input_alphabet=("0", "1", "+"), valid_input=_valid_add, sep="=")


def parity(tokens):
    return tokens.count("1") % 2 == 0


def mod3_a(tokens):
    return tokens.count("a") % 3 == 0


def equality(tokens):
    h = len(tokens) // 2
    return len(tokens) % 2 == 0 and tokens[:h] == tokens[h:]


def reverse(tokens):
    return tuple(reversed(tokens))


def broken(tokens):
    if len(tokens) > 3:
        raise ValueError("cannot handle long inputs")
    return True
