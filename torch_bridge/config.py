"""The model configuration: GPT-2's config.json keys plus ours (position encoding, regularizer
strength, output head, the task's tokens). numpy/torch-free so the CLI can read configs cheaply.

What config.json says to Hugging Face (to_json) [decision, documented in torch_bridge/README.md]:
- `architectures`: GPT2LMHeadModel for the LM head; GPT2ForTokenClassification (num_labels = 1,
  classifier_dropout 0) for the per-position binary head — its `classifier.weight` (1, d) and
  `classifier.bias` (1,) are exactly ours, so `from_pretrained` loads every weight.
- `bos_token_id`, `eos_token_id`, `sep_token_id`, `pad_token_id` from the task's tokens
  (special_token_ids), so `generate` stops at `<eos>`.
- Next-symbol sets (`protocol: "next_symbol"`, with a `protocol_note`): the LM head's logits are one
  independent sigmoid per vocabulary entry (is this symbol a legal next one?), not a softmax over the next
  token, so `generate` and a softmax read them wrongly; the note says so to whoever opens the file.
- NoPE: `position_encoding: "nope"`; the weights file holds an all-zero `transformer.wpe.weight`
  (GPT-2 in transformers always adds a table: a zero one adds nothing), which our loader reads as
  "no table" and refuses if it is not all zero.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

APE, NOPE, REG = "ape", "nope", "reg"
POSITION_ENCODINGS = (APE, NOPE, REG)
LM_HEAD, BINARY_HEAD = "lm", "per_position_binary"
# the training protocols of torch_bridge.data (its MEMBERSHIP / NEXT_SYMBOL; this module stays import-free)
PROTOCOLS = ("membership", "next_symbol")
NEXT_SYMBOL_NOTE = ("trained on next-symbol sets: each logit is an independent sigmoid (is this token a legal "
                    "next symbol; <eos>: the prefix is a member), not a softmax over the next token; "
                    "generate() and softmax sampling do not apply")


@dataclass(frozen=True)
class GPT2Config:
    vocab_size: int
    n_positions: int
    n_embd: int
    n_layer: int
    n_head: int
    n_inner: Optional[int] = None            # None: 4 * n_embd, as in GPT-2
    activation_function: str = "gelu_new"    # GPT-2's tanh-approximated GELU
    layer_norm_epsilon: float = 1e-5
    # ours (written to config.json as extra keys; Hugging Face ignores them)
    position_encoding: str = APE             # ape | nope | reg (reg = ape + practical regularizer)
    regularizer_lambda: float = 0.0
    head: str = LM_HEAD                      # lm: tied unembedding; per_position_binary: extra linear d -> 1
    tokens: tuple = ()                       # the token strings, id order (for reading checkpoints back)
    bos_token: Optional[str] = None          # None: "<bos>" when it is among the tokens (verify.case's default)
    sep_token: Optional[str] = None          # None: "<sep>", else the token before <eos> (torch_bridge.data's order)
    eos_token: Optional[str] = None          # None: "<eos>" when it is among the tokens
    protocol: Optional[str] = None           # torch_bridge.data's training protocol of a language (None: not said)
    dropout: float = 0.0                     # training-time dropout (GPT-2's embd/attn/resid_pdrop); 0: none, and
    #                                          config.json stays as it was (no "dropout" key)
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def inner(self) -> int:
        return self.n_inner or 4 * self.n_embd

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def has_position_table(self) -> bool:
        return self.position_encoding != NOPE

    def special_token_ids(self) -> Dict[str, int]:
        """{"bos": id, "sep": id, "eos": id, "pad": id} for the special tokens among `tokens` (absent ones left
        out). Explicit *_token fields win; otherwise verify.case's names <bos>/<sep>/<eos>, and for a
        SEQUENCE vocabulary (torch_bridge.data: <bos>, input, answer, sep, <eos>) the token before <eos> is the
        separator (e.g. "=" for addition). pad = the id torch_bridge.data pads with (<eos>, or <bos>)."""
        index = {t: i for i, t in enumerate(self.tokens)}
        out = {}
        for role, explicit in (("bos", self.bos_token), ("sep", self.sep_token), ("eos", self.eos_token)):
            name = explicit if explicit is not None else f"<{role}>"
            if name in index:
                out[role] = index[name]
        if "sep" not in out and self.sep_token is None and "bos" in out and out.get("eos") == len(self.tokens) - 1 \
                and out["bos"] == 0 and len(self.tokens) >= 3:
            out["sep"] = len(self.tokens) - 2
        if "eos" in out or "bos" in out:
            out["pad"] = out.get("eos", out.get("bos"))
        return out

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        for key in ("bos_token", "sep_token", "eos_token", "protocol"):
            if d[key] is None:
                d.pop(key)
        if not self.dropout:
            d.pop("dropout")
        if self.protocol == "next_symbol":
            d["protocol_note"] = NEXT_SYMBOL_NOTE
        d["tokens"] = list(self.tokens)
        d.update(self.extra)
        d.update({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_ctx": self.n_positions,
                  "resid_pdrop": self.dropout, "embd_pdrop": self.dropout, "attn_pdrop": self.dropout,
                  "tie_word_embeddings": True,
                  "scale_attn_weights": True})
        if self.head == BINARY_HEAD:   # transformers' GPT2ForTokenClassification: the same classifier, exactly
            d.update({"architectures": ["GPT2ForTokenClassification"], "num_labels": 1,
                      "id2label": {"0": "member"}, "label2id": {"member": 0}, "classifier_dropout": 0.0})
        ids = self.special_token_ids()   # explicit None: transformers would otherwise assume GPT-2's 50256
        d.update({f"{role}_token_id": ids.get(role) for role in ("bos", "eos", "pad")})
        if "sep" in ids:
            d["sep_token_id"] = ids["sep"]
        return d

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "GPT2Config":
        known = {"vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
                 "activation_function", "layer_norm_epsilon", "position_encoding", "regularizer_lambda",
                 "head", "tokens", "bos_token", "sep_token", "eos_token", "protocol", "dropout"}
        kw = {k: d[k] for k in known if k in d}
        if "tokens" in kw:
            kw["tokens"] = tuple(kw["tokens"])
        return GPT2Config(**kw)


# ------------------------------------------------------------------------------------ validation
# Sizes a checkpoint may declare [decision]: far above the paper's models (d <= 256, <= 12 layers) and
# GPT-2 XL (d = 1600, 48 layers, 25 heads), far below what would exhaust memory before a check.
MAX_LAYERS = 256
MAX_HEADS = 1024
MAX_WIDTH = 65536
MAX_POSITIONS = 1 << 20
MAX_VOCAB = 1 << 22
_INT_KEYS = {"n_layer": MAX_LAYERS, "n_head": MAX_HEADS, "n_embd": MAX_WIDTH, "n_positions": MAX_POSITIONS,
             "n_ctx": MAX_POSITIONS, "vocab_size": MAX_VOCAB, "n_inner": 4 * MAX_WIDTH}


def is_int(x: Any) -> bool:
    """An integer that is an integer: not a bool, a float or a string."""
    return type(x) is int


def _is_number(x: Any) -> bool:
    return type(x) in (int, float) and x == x and x not in (float("inf"), float("-inf"))


def config_problems(cfg: Dict[str, Any], activations=("gelu_new", "gelu_pytorch_tanh", "gelu", "relu")):
    """What is wrong with a config.json's values (types and ranges), as (key, what) pairs; [] when fine.
    Checked before any weight is read or any memory is sized from the config."""
    out = []
    for key, top in _INT_KEYS.items():
        if key not in cfg or (key == "n_inner" and cfg[key] is None):
            continue
        v = cfg[key]
        if not is_int(v):
            out.append((key, f"{key} must be an integer, not {type(v).__name__} {v!r}"))
        elif not 1 <= v <= top:
            out.append((key, f"{key} = {v} is out of range (1..{top})"))
    if is_int(cfg.get("n_embd")) and is_int(cfg.get("n_head")) and cfg["n_head"] >= 1 and cfg["n_embd"] % cfg["n_head"]:
        out.append(("n_head", f"n_embd = {cfg['n_embd']} is not divisible by n_head = {cfg['n_head']}"))
    if "layer_norm_epsilon" in cfg:
        v = cfg["layer_norm_epsilon"]
        if not _is_number(v) or not 0 < v < 1:
            out.append(("layer_norm_epsilon", f"layer_norm_epsilon must be a finite number in (0, 1), not {v!r}"))
    if "regularizer_lambda" in cfg:
        v = cfg["regularizer_lambda"]
        if not _is_number(v) or v < 0:
            out.append(("regularizer_lambda", f"regularizer_lambda must be a finite number >= 0, not {v!r}"))
    if "dropout" in cfg:
        v = cfg["dropout"]
        if not _is_number(v) or not 0 <= v < 1:
            out.append(("dropout", f"dropout must be a number in [0, 1), not {v!r}"))
    if "activation_function" in cfg and cfg["activation_function"] not in activations:
        out.append(("activation_function", f"activation_function {cfg['activation_function']!r} is not one of "
                                           f"{', '.join(activations)}"))
    if "position_encoding" in cfg and cfg["position_encoding"] not in POSITION_ENCODINGS:
        out.append(("position_encoding", f"position_encoding {cfg['position_encoding']!r} is not one of "
                                         f"{', '.join(POSITION_ENCODINGS)}"))
    if "head" in cfg and cfg["head"] not in (LM_HEAD, BINARY_HEAD):
        out.append(("head", f"head {cfg['head']!r} is not one of {LM_HEAD}, {BINARY_HEAD}"))
    if cfg.get("protocol") is not None and cfg["protocol"] not in PROTOCOLS:
        out.append(("protocol", f"protocol {cfg['protocol']!r} is not one of {', '.join(PROTOCOLS)}"))
    for key in ("bos_token", "sep_token", "eos_token"):
        if key in cfg and cfg[key] is not None and not isinstance(cfg[key], str):
            out.append((key, f"{key} must be a token string, not {cfg[key]!r}"))
    if "tokens" in cfg:
        v = cfg["tokens"]
        if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
            out.append(("tokens", "tokens must be a list of strings (the token strings in id order)"))
        elif is_int(cfg.get("vocab_size")) and len(v) > cfg["vocab_size"]:
            out.append(("tokens", f"{len(v)} tokens but vocab_size = {cfg['vocab_size']}"))
    return out
