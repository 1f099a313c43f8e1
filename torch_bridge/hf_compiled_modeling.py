"""A compiled T_N (`verify compile --out DIR`) as a `transformers` model: the modeling file of that folder
(copied there as modeling_lengthgen_compiled.py, beside compiled_forward.py; config.json's `auto_map` names
the two classes below), so that

    from transformers import AutoModel
    model = AutoModel.from_pretrained(DIR, trust_remote_code=True)      # float64, as written
    model(input_ids).logits                                            # = verify.limit.forward's scores

runs the same arithmetic as torch_bridge.export (torch_bridge.compiled_forward) on the same float64
weights. Needs only torch and transformers; nothing of lengthgen-verify is imported.

input_ids are the word's symbol ids in config.json's `vocab` order, without BOS (it is prepended, as
verify.limit.forward does); `logits` are the scores (batch, n, len(output_keys)); an output is true where
its score exceeds `threshold`; `offset` shifts the positions as `verify run --offset` does.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from transformers import PretrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

try:   # inside the saved folder (transformers loads it as a package), or inside torch_bridge
    from .compiled_forward import forward as compiled_forward
except ImportError:  # pragma: no cover - loaded as a top-level module
    from compiled_forward import forward as compiled_forward


class CompiledTransformerConfig(PretrainedConfig):
    model_type = "lengthgen_compiled"

    def __init__(self, vocab=(), output_keys=(), threshold=0.0, context=None, bos=True, bos_id=None,
                 softmax_base=2.0, logit_scale="log_i", layers=(), shapes=None, **kwargs):
        self.vocab, self.output_keys, self.threshold = list(vocab), list(output_keys), threshold
        self.context, self.bos, self.bos_id = context, bos, bos_id
        self.softmax_base, self.logit_scale = softmax_base, logit_scale
        self.layers, self.shapes = list(layers), dict(shapes or {})
        super().__init__(**kwargs)


@dataclass
class CompiledTransformerOutput(ModelOutput):
    logits: Optional[torch.Tensor] = None


def _weights(shapes, prefix: str, names) -> torch.nn.Module:
    """A module holding the float64 parameters `prefix + name` of `shapes` (absent ones left out)."""
    module = torch.nn.Module()
    for name in names:
        if prefix + name in shapes:
            module.register_parameter(name, torch.nn.Parameter(
                torch.zeros(shapes[prefix + name], dtype=torch.float64), requires_grad=False))
    return module


class CompiledTransformerModel(PreTrainedModel):
    """Parameter names are verify.limit.io's keys (`embedding`, `layers.0.heads.1.query`, ...), so the folder's
    model.safetensors is also a `verify compile --out` file."""
    config_class = CompiledTransformerConfig
    base_model_prefix = "compiled"
    main_input_name = "input_ids"
    _no_split_modules = []

    def __init__(self, config: CompiledTransformerConfig):
        super().__init__(config)
        shapes = config.shapes
        for name in ("embedding", "positions", "unembedding"):
            self.register_parameter(name, torch.nn.Parameter(torch.zeros(shapes[name], dtype=torch.float64),
                                                             requires_grad=False))
        self.layers = torch.nn.ModuleList()
        for li, spec in enumerate(config.layers):
            layer = torch.nn.Module()
            layer.heads = torch.nn.ModuleList(
                _weights(shapes, f"layers.{li}.heads.{hi}.", ("query", "key", "value", "output", "band"))
                for hi in range(spec["heads"]))
            if spec["norm"]:
                layer.norm = _weights(shapes, f"layers.{li}.norm.", ("read", "write", "bias"))
            if spec["mlp"]:
                layer.mlp = _weights(shapes, f"layers.{li}.mlp.", ("w_in", "b_in", "w_out", "b_out"))
            self.layers.append(layer)
        self.post_init()

    def _init_weights(self, module):   # every weight is read from the file; nothing to initialize
        pass

    def _layers(self):
        out = []
        for layer in self.layers:
            heads = [{part: getattr(h, part, None) for part in ("query", "key", "value", "output", "band")}
                     for h in layer.heads]
            norm = tuple(getattr(layer.norm, p) for p in ("read", "write", "bias")) if hasattr(layer, "norm") else None
            mlp = (tuple(getattr(layer.mlp, p) for p in ("w_in", "b_in", "w_out", "b_out"))
                   if hasattr(layer, "mlp") else None)
            out.append({"heads": heads, "norm": norm, "mlp": mlp})
        return out

    def forward(self, input_ids: torch.Tensor, offset: int = 0, **kwargs) -> CompiledTransformerOutput:
        c = self.config
        scores = compiled_forward(input_ids.long(), offset, embedding=self.embedding,
                                  positions=self.positions, unembedding=self.unembedding,
                                  layers=self._layers(), bos_id=c.bos_id if c.bos else None, context=c.context,
                                  logit_scale=c.logit_scale, softmax_base=c.softmax_base)
        return CompiledTransformerOutput(logits=scores)
