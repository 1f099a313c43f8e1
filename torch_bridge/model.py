"""GPT-2 as in the paper's experiments (SPEC §5): learned position table `wpe`, pre-LayerNorm,
GELU MLP of width 4d, tied embeddings, no dropout unless the config asks for it (`dropout`: GPT-2's
embd/attn/resid_pdrop, in training only, drawn from the model's own generator). Parameter names and shapes are exactly those
of Hugging Face's GPT2LMHeadModel (Conv1D weights stored in × out, applied as x @ W), so a
state dict moves both ways. NoPE has no `wpe` parameter at all (never a zero or random table);
only the saved file carries an all-zero table, for transformers (hf_state_dict).
"""
from __future__ import annotations

from typing import Optional, Union

import torch
import math

import torch.nn.functional as F
from torch import nn

from torch_bridge.config import BINARY_HEAD, GPT2Config

_ACTIVATIONS = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
    "relu": F.relu,
}


class Dropout:
    """GPT-2's dropout (embeddings, attention probabilities, residual branches) while training, drawn from a
    generator of the model's own (seeded from `seed`, on the device of the first tensor it masks), so a run's
    masks do not depend on any other run in the process, and a paused run resumes them exactly
    (get_state/set_state). Not a module: it holds no parameters and never enters a state dict."""

    def __init__(self, p: float, seed: int):
        self.p, self.seed, self.generator = p, seed, None

    def active(self, training: bool) -> bool:
        return training and self.p > 0

    def _gen(self, device) -> torch.Generator:
        if self.generator is None or self.generator.device != torch.device(device):
            self.generator = torch.Generator(device=device)
            self.generator.manual_seed(self.seed)
        return self.generator

    def __call__(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        if not self.active(training):
            return x
        keep = torch.rand(x.shape, generator=self._gen(x.device), device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)

    def get_state(self) -> Optional[torch.Tensor]:
        return None if self.generator is None else self.generator.get_state()

    def set_state(self, state: Optional[torch.Tensor], device) -> None:
        if state is not None:
            self._gen(device).set_state(state)


class Conv1D(nn.Module):
    """Hugging Face's Conv1D: weight (in, out), y = x @ W + b."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, cfg: GPT2Config, drop: Optional[Dropout] = None):
        super().__init__()
        self.n_head, self.d = cfg.n_head, cfg.n_embd
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        heads = lambda t: t.view(b, n, self.n_head, d // self.n_head).transpose(1, 2)
        if self.drop is not None and self.drop.active(self.training):   # dropout on the attention probabilities
            q, k, v = heads(q), heads(k), heads(v)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.n_head)
            causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
            probs = self.drop(scores.masked_fill(~causal, float("-inf")).softmax(-1), True)
            return self.drop(self.c_proj((probs @ v).transpose(1, 2).reshape(b, n, d)), True)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    def __init__(self, cfg: GPT2Config, drop: Optional[Dropout] = None):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, cfg.inner)
        self.c_proj = Conv1D(cfg.inner, cfg.n_embd)
        self.act = _ACTIVATIONS[cfg.activation_function]
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c_proj(self.act(self.c_fc(x)))
        return y if self.drop is None else self.drop(y, self.training)


class Block(nn.Module):
    def __init__(self, cfg: GPT2Config, drop: Optional[Dropout] = None):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg, drop)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg, drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg: GPT2Config, drop: Optional[Dropout] = None):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        nn.init.normal_(self.wte.weight, std=0.02)
        if cfg.has_position_table:
            self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
            nn.init.normal_(self.wpe.weight, std=0.02)  # GPT-2's initializer_range
        else:
            self.wpe = None
        self.h = nn.ModuleList(Block(cfg, drop) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.n_positions = cfg.n_positions
        self.drop = drop

    def embed(self, input_ids: torch.Tensor, offset: Union[int, torch.Tensor] = 0) -> torch.Tensor:
        x = self.wte(input_ids)
        if self.wpe is not None:
            n = input_ids.shape[1]
            pos = torch.arange(n, device=input_ids.device)
            pos = pos[None, :] + (offset[:, None] if torch.is_tensor(offset) else offset)
            if int(pos.max()) >= self.n_positions or int(pos.min()) < 0:
                raise ValueError(f"positions up to {int(pos.max())} exceed the table of {self.n_positions}")
            x = x + self.wpe(pos)
        return x if self.drop is None else self.drop(x, self.training)

    def forward(self, input_ids: torch.Tensor, offset: Union[int, torch.Tensor] = 0) -> torch.Tensor:
        x = self.embed(input_ids, offset)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2(nn.Module):
    """GPT2LMHeadModel's layout: `transformer.*` plus a tied `lm_head` (not a separate parameter).

    forward(ids, offset) -> logits (batch, n, vocab) for the LM head, or (batch, n) for the
    per-position binary head (`classifier.weight` (1, d), `classifier.bias` (1,): our only
    non-GPT-2 parameters, present only when cfg.head == 'per_position_binary').
    `offset` (int or (batch,) tensor) shifts APE positions: the paper trains with random offsets.
    """

    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.config = cfg
        # with dropout, its generator's seed is drawn after every parameter is initialized: the weights are
        # those of the same model without dropout
        self.dropout = Dropout(cfg.dropout, 0) if cfg.dropout else None
        self.transformer = Transformer(cfg, self.dropout)
        self.classifier = nn.Linear(cfg.n_embd, 1) if cfg.head == BINARY_HEAD else None
        if self.dropout is not None:
            self.dropout.seed = int(torch.randint(0, 2 ** 62, ()).item())

    def forward(self, input_ids: torch.Tensor, offset: Union[int, torch.Tensor] = 0) -> torch.Tensor:
        h = self.transformer(input_ids, offset)
        if self.classifier is not None:
            return self.classifier(h).squeeze(-1)
        return h @ self.transformer.wte.weight.T

    def hf_state_dict(self) -> dict:
        """The state dict with Hugging Face's names, `lm_head.weight` left out (tied, as save_pretrained does).
        NoPE adds an all-zero `transformer.wpe.weight` (n_positions × d): transformers' GPT-2 always adds a
        position table, and a zero one adds nothing, so its logits equal ours; config.json's
        position_encoding "nope" tells our loader to read it as no table."""
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        if self.transformer.wpe is None:
            state["transformer.wpe.weight"] = torch.zeros(self.config.n_positions, self.config.n_embd,
                                                          dtype=self.transformer.wte.weight.dtype)
        return state

    @torch.no_grad()
    def greedy_decode(self, prompt: torch.Tensor, max_new_tokens: int, eos_id: Optional[int] = None) -> list:
        """The toolkit's own greedy decoding (LM head): per prompt row (batch, n), append the argmax token
        until `eos_id` (kept) or max_new_tokens or the table's end; returns one list of ids per row."""
        if self.classifier is not None:
            raise ValueError("greedy decoding needs the LM head; this model has a per-position classifier")
        out = []
        for row in prompt:
            seq = row.tolist()
            for _ in range(max_new_tokens):
                if self.transformer.wpe is not None and len(seq) >= self.config.n_positions:
                    break
                nxt = int(self(torch.tensor([seq]))[0, -1].argmax())
                seq.append(nxt)
                if nxt == eos_id:
                    break
            out.append(seq)
        return out

    def positional_penalty(self) -> torch.Tensor:
        """The practical regularizer (SPEC §3), differentiable; 0 for NoPE."""
        if self.transformer.wpe is None:
            return torch.zeros(())
        return practical_regularizer(self.transformer.wpe.weight,
                                     [b.attn.c_attn.weight for b in self.transformer.h], self.config.n_head)


def practical_regularizer(wpe: torch.Tensor, c_attn_weights, n_head: int,
                          per_head: bool = False) -> torch.Tensor:
    """Σ_{l,h} (1/N) Σ_j Σ_{i≥j} A[i,j]², A = (P Wq)(P Wk)ᵀ with Wq, Wk the head's query/key
    column blocks of c_attn.weight (d × 3d). Ignores LayerNorm, biases and the 1/√dh scale,
    exactly as the paper's code does. per_head=True returns the (layers, heads) terms."""
    n, d = wpe.shape
    dh = d // n_head
    lower = torch.tril(torch.ones(n, n, dtype=torch.bool, device=wpe.device))
    terms = []
    for w in c_attn_weights:
        q = (wpe @ w[:, :d]).view(n, n_head, dh).transpose(0, 1)          # (H, N, dh)
        k = (wpe @ w[:, d:2 * d]).view(n, n_head, dh).transpose(0, 1)
        a = q @ k.transpose(1, 2)                                          # (H, N, N): a[h, i, j]
        terms.append((a.square() * lower).sum(dim=(1, 2)) / n)
    stacked = torch.stack(terms)
    return stacked if per_head else stacked.sum()


def build(cfg: GPT2Config, seed: Optional[int] = None) -> GPT2:
    if seed is not None:
        torch.manual_seed(seed)
    return GPT2(cfg)
