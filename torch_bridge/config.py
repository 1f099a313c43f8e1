"""The model configuration: GPT-2's config.json keys plus three of ours (position encoding,
regularizer strength, output head). numpy/torch-free so the CLI can read configs cheaply."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

APE, NOPE, REG = "ape", "nope", "reg"
POSITION_ENCODINGS = (APE, NOPE, REG)
LM_HEAD, BINARY_HEAD = "lm", "per_position_binary"


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

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        d["tokens"] = list(self.tokens)
        d.update(self.extra)
        d.update({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_ctx": self.n_positions,
                  "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": True,
                  "scale_attn_weights": True})
        return d

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "GPT2Config":
        known = {"vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
                 "activation_function", "layer_norm_epsilon", "position_encoding", "regularizer_lambda",
                 "head", "tokens"}
        kw = {k: d[k] for k in known if k in d}
        if "tokens" in kw:
            kw["tokens"] = tuple(kw["tokens"])
        return GPT2Config(**kw)
