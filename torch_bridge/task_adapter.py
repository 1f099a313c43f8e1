"""A checkpoint meets a task (DESIGN: "one small adapter"): the checkpoint's vocabulary mapped onto the
case's tokens, and which head the model has. numpy only; torch_bridge.measure and torch_bridge.predict
run the model through it.

The vocabulary comes from the first of these that the checkpoint has [decision]:
  1. `--vocab`: the tokens in id order (a list, or a small file: one token per line, or a JSON list);
  2. a tokenizer file beside the weights (tokenizer.json: a word-level vocabulary plus added tokens);
  3. config.json's `tokens` (what `verify train` writes);
  4. the convention of the paper group's training code: the task's symbols first, then
     `<bos> <sep> <eos> <pad>` — used only when the sizes fit exactly (vocab_size = symbols + 4).
     The task's symbols are a sequence task's input symbols then its other answer symbols, in the
     catalogue's order, and a language's alphabet sorted.
A source that is present but does not hold every token the task needs is an error (exit 2), never a
silent fall-through to the next one. A task token maps to the checkpoint token of the same text; the
case's `<bos>`, separator and `<eos>` map to `<bos>`, `<sep>`, `<eos>` when the checkpoint has no token of
their own text (addition's separator "=" is `<sep>` under the convention).

Heads (the paper's two protocols):
  next token  — sequence tasks: the arg-max token at every answer position, exact match, teacher forced;
  next-symbol sets — languages: one logit per vocabulary entry read as an independent sigmoid (logit > 0:
                this symbol may come next; `<eos>`: the prefix is a member), set equality at every
                position from `<bos>` to the last symbol, over the task's symbols and `<eos>`.
                `architectures: GPT2BCELMHeadModel` (weights of a plain GPT2LMHeadModel) says so; an LM
                head on a language case can only be this protocol, and the adapter says it assumed it;
  membership  — languages with our per-position binary classifier (`verify train --protocol membership`).
For a checkpoint without our config.json `tokens` (not trained by `verify train`, whatever gives its
vocabulary), a case may declare `extra["paper_answer_eos"] = False` (binary majority: one answer symbol, no
`<eos>` after it in the paper group's code); then the answer's `<eos>` is neither fed nor scored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from verify.case import LANGUAGE, SEQUENCE, Case
from verify.problems import UserError

NEXT_TOKEN, SETS, MEMBERSHIP = "next_token", "next_symbol_sets", "membership"
HEADS = (NEXT_TOKEN, SETS, MEMBERSHIP)
CONVENTION_SPECIALS = ("<bos>", "<sep>", "<eos>", "<pad>")
BCE_ARCHITECTURE = "GPT2BCELMHeadModel"
MAX_VOCAB_FILE = 1 << 20          # a --vocab file or a tokenizer.json is read only below this size (bytes)
MAX_TOKENIZER_FILE = 64 << 20


@dataclass(frozen=True)
class Vocabulary:
    tokens: Tuple[str, ...]       # the checkpoint's token strings, id order
    source: str                   # where they came from, in words


@dataclass(frozen=True)
class TaskAdapter:
    """How one checkpoint runs one task: `ids[i]` is the checkpoint id of torch_bridge.data's token i."""
    case: Case                    # at the size the checkpoint's vocabulary implies (unique copy: 150 tokens)
    head: str                     # NEXT_TOKEN | SETS | MEMBERSHIP
    ids: np.ndarray
    vocabulary: Vocabulary
    answer_eos: bool              # sequence tasks: the answer ends with <eos>, fed and scored
    n_positions: Optional[int]    # rows of the position table (None: NoPE, no limit)
    notes: Tuple[str, ...] = ()

    @property
    def protocol(self) -> str:
        """torch_bridge.data's protocol for this head."""
        from torch_bridge.data import MEMBERSHIP as DATA_MEMBERSHIP, NEXT_SYMBOL
        return NEXT_SYMBOL if self.head == SETS else DATA_MEMBERSHIP

    def task_data(self):
        from torch_bridge.data import TaskData
        return TaskData(self.case, self.protocol)

    def positions_needed(self, hi: int) -> int:
        """Positions the longest input of a bin ending at `hi` occupies (its whole encoded sequence)."""
        data = self.task_data()
        n = data.max_total_length(hi, np.random.default_rng(0)) - (0 if data.is_language else 2)
        return n - (0 if self.answer_eos or data.is_language else 1)

    def as_dict(self) -> dict:
        return {"task": self.case.name, "head": self.head, "vocabulary_source": self.vocabulary.source,
                "tokens": list(self.vocabulary.tokens) if len(self.vocabulary.tokens) <= 64 else
                f"{len(self.vocabulary.tokens)} tokens", "answer_eos": self.answer_eos,
                "n_positions": self.n_positions, "notes": list(self.notes)}


# ------------------------------------------------------------------------------------ vocabulary sources
def parse_vocab_option(text: str) -> Vocabulary:
    """`--vocab`: a file (one token per line, or a JSON list), or the tokens themselves separated by commas
    (or by spaces when there is no comma)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        if not path.is_file():
            raise UserError(f"--vocab {text!r}: not a regular file")
        size = path.stat().st_size
        if size > MAX_VOCAB_FILE:
            raise UserError(f"--vocab {text!r}: {size} bytes; a vocabulary file is at most {MAX_VOCAB_FILE} bytes")
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as ex:
            raise UserError(f"--vocab {text!r}: cannot read it ({ex})") from None
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                tokens = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError) as ex:
                raise UserError(f"--vocab {text!r}: not a JSON list of strings ({ex})") from None
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                raise UserError(f"--vocab {text!r}: a JSON vocabulary must be a list of strings")
        else:
            tokens = [line.strip() for line in raw.splitlines() if line.strip()]
        source = f"--vocab file {text}"
    else:
        tokens = [t.strip() for t in (text.split(",") if "," in text else text.split()) if t.strip()]
        source = "--vocab"
    if not tokens:
        raise UserError("--vocab: no tokens given (a list such as '0,1,<bos>,<sep>,<eos>,<pad>', or a file)")
    dupes = sorted({t for t in tokens if tokens.count(t) > 1}) if len(tokens) < 5000 else \
        ([] if len(set(tokens)) == len(tokens) else ["(several)"])
    if dupes:
        raise UserError(f"--vocab: token(s) listed twice: {', '.join(map(repr, dupes[:5]))}")
    return Vocabulary(tuple(tokens), source)


def read_tokenizer(folder: Path) -> Optional[Vocabulary]:
    """tokenizer.json's vocabulary (a `tokenizers` model's `vocab` plus `added_tokens`), id order; None when
    the folder has none. Only word-level style vocabularies (token -> id maps) are read."""
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > MAX_TOKENIZER_FILE:
        raise UserError(f"{path}: {size} bytes, more than the {MAX_TOKENIZER_FILE >> 20} MiB read for a tokenizer "
                        f"file; pass --vocab instead")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as ex:
        raise UserError(f"{path}: not a readable tokenizer file ({type(ex).__name__}); pass --vocab instead") from None
    by_id = {}
    model = data.get("model") if isinstance(data, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(vocab, dict):
        by_id.update({i: t for t, i in vocab.items() if type(i) is int})
    elif vocab is not None:
        raise UserError(f"{path}: its model's vocabulary is not a token -> id map (a {type(vocab).__name__}); "
                        "pass --vocab with the tokens in id order")
    for added in (data.get("added_tokens") or []) if isinstance(data, dict) else []:
        if isinstance(added, dict) and type(added.get("id")) is int and isinstance(added.get("content"), str):
            by_id[added["id"]] = added["content"]
    if not by_id:
        return None
    if sorted(by_id) != list(range(len(by_id))):
        raise UserError(f"{path}: token ids are not 0..{len(by_id) - 1} without gaps; pass --vocab instead")
    return Vocabulary(tuple(by_id[i] for i in range(len(by_id))), f"tokenizer file {path.name}")


def task_symbols(case: Case) -> Tuple[str, ...]:
    """The task's own symbols in the convention's order (see the module docstring)."""
    if case.format == LANGUAGE:
        return tuple(sorted(case.alphabet))
    specials = {case.bos, case.sep, case.eos}
    inputs = tuple(case.input_alphabet)
    return inputs + tuple(t for t in case.alphabet if t not in specials and t not in inputs)


def convention(case: Case) -> Vocabulary:
    return Vocabulary(task_symbols(case) + CONVENTION_SPECIALS,
                      "convention: task symbols, then <bos> <sep> <eos> <pad>")


# ------------------------------------------------------------------------------------ the adapter
def _mapping(data_tokens: Sequence[str], case: Case, vocab: Vocabulary) -> Tuple[Optional[np.ndarray], list]:
    """Checkpoint ids of torch_bridge.data's tokens, or None and the tokens that have none."""
    index = {t: i for i, t in enumerate(vocab.tokens)}
    roles = {case.bos: "<bos>", case.sep: "<sep>", case.eos: "<eos>"}
    ids, missing = [], []
    for t in data_tokens:
        i = index.get(t, index.get(roles.get(t, t)))
        if i is None:
            missing.append(t)
        ids.append(-1 if i is None else i)
    return (None if missing else np.asarray(ids, dtype=np.int64)), missing


def _sizes(case: Case):
    """The case at the paper's size first (unique copy, sort: 150 tokens), then the catalogue's."""
    from torch_bridge.data import training_case
    big = training_case(case)
    return [big] if big is case else [big, case]


def _head(case: Case, config_json: dict, ck_head: str, metrics: dict, notes: list) -> str:
    from torch_bridge.config import BINARY_HEAD
    architectures = config_json.get("architectures") or []
    bce = isinstance(architectures, list) and BCE_ARCHITECTURE in architectures
    if ck_head == BINARY_HEAD:
        if case.format != LANGUAGE:
            raise UserError(f"the checkpoint has a per-position membership head, but {case.name!r} is a "
                            f"sequence task (its answers need a next-token head)")
        return MEMBERSHIP
    if case.format == SEQUENCE:
        if bce or config_json.get("protocol") == "next_symbol":
            raise UserError(f"the checkpoint predicts next-symbol sets ({BCE_ARCHITECTURE}), but {case.name!r} is "
                            f"a sequence task; pass a language case")
        return NEXT_TOKEN
    from torch_bridge.data import has_next_symbols
    if not has_next_symbols(case):
        raise UserError(f"{case.name!r} has no next-symbol reference (a DFA or Case.next_symbols), so a language "
                        f"model with an LM head cannot be scored on it")
    if not (bce or config_json.get("protocol") == "next_symbol" or metrics.get("protocol") == "next_symbol"):
        notes.append("an LM head on a language task: read as the next-symbol-set protocol (sigmoid per symbol), "
                     "the only one with that head")
    return SETS


def adapt(checkpoint, case: Case, vocab: Optional[str] = None, folder: Optional[Path] = None) -> TaskAdapter:
    """The adapter for a loaded torch_bridge.checkpoint.Checkpoint and a catalogue case. `folder`: where
    config.json / tokenizer.json / metrics.json live (None: a bare weights file)."""
    cfg = checkpoint.config
    config_json, metrics = {}, {}
    if folder is not None:
        config_json = _small_json(folder / "config.json")
        metrics = _small_json(folder / "metrics.json")
    notes: list = []
    head = _head(case, config_json, cfg.head, metrics, notes)
    sources = []
    if vocab is not None:
        sources.append(parse_vocab_option(vocab))
    elif folder is not None and read_tokenizer(folder) is not None:
        sources.append(read_tokenizer(folder))
    elif cfg.tokens:
        sources.append(Vocabulary(tuple(cfg.tokens), "config.json tokens"))
    explicit = bool(sources)
    if not explicit and head == SETS and BCE_ARCHITECTURE not in (config_json.get("architectures") or []):
        raise UserError(f"{case.name!r} is a language: under the convention (no --vocab, tokenizer file or config.json "
                        f"tokens) its checkpoints are {BCE_ARCHITECTURE} (next-symbol sets), but this one is a "
                        f"next-token model; check --task, or pass --vocab")
    if not explicit:
        sources = [convention(c) for c in _sizes(case)]
    problems = []
    for vocabulary in sources:
        if len(vocabulary.tokens) > cfg.vocab_size:
            problems.append(f"{vocabulary.source}: {len(vocabulary.tokens)} tokens, but the checkpoint has "
                            f"{cfg.vocab_size} ids")
            continue
        if not explicit and len(vocabulary.tokens) != cfg.vocab_size:
            problems.append(f"{vocabulary.source}: {len(vocabulary.tokens)} ids for {case.name!r}, the checkpoint "
                            f"has {cfg.vocab_size}")
            continue
        for sized in _sizes(case):
            sized = _checked_head_case(sized, head)
            from torch_bridge.data import TaskData
            data = TaskData(sized, "next_symbol" if head == SETS else "membership")
            ids, missing = _mapping(data.tokens, sized, vocabulary)
            if ids is not None:
                answer_eos = True
                # the answer format is the training code's, not the vocabulary's: ours (config.json tokens)
                # always ends answers with <eos>; a checkpoint without them follows the paper group's format
                if not cfg.tokens and sized.format == SEQUENCE:
                    answer_eos = bool(sized.extra.get("paper_answer_eos", True))
                    if not answer_eos:
                        notes.append("the paper group's format: the answer has no <eos> after it in this task "
                                     "(not fed, not scored)")
                return TaskAdapter(sized, head, ids, vocabulary, answer_eos,
                                   None if checkpoint.nope else cfg.n_positions, tuple(notes))
        problems.append(f"{vocabulary.source}: no token for {', '.join(map(repr, missing[:6]))}"
                        f"{' …' if len(missing) > 6 else ''}")
    hint = ("pass --vocab with the checkpoint's tokens in id order (e.g. --vocab '0,1,<bos>,<sep>,<eos>,<pad>')"
            if not explicit else "check the task (--task) or the vocabulary")
    raise UserError(f"the checkpoint's vocabulary does not fit task {case.name!r}: " + "; ".join(problems)
                    + f"; {hint}")


def _checked_head_case(case: Case, head: str) -> Case:
    if head == SETS and case.format != LANGUAGE:
        raise UserError(f"{case.name!r} is not a language; a next-symbol-set head needs one")
    return case


def _small_json(path: Path) -> dict:
    """A small JSON object beside the weights, or {} (config.json was already validated by the loader)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_VOCAB_FILE:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
