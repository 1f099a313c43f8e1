"""Hugging Face interoperability: the tokenizer and generation files written beside a checkpoint, and
local hub-cache snapshots. torch-free; `tokenizers`/`transformers` are imported lazily, inside
write_tokenizer only (pip install 'lengthgen-verify[hf]').

Tokenizer [decision]: a `tokenizers` WordLevel model over the task's tokens (config `tokens`, id order:
token i has id i, so ids equal torch_bridge.data's encoding), a WhitespaceSplit pre-tokenizer (tokens are
separated by spaces; `<bos>` stays one token), no post-processor (a task's string already holds its
`<bos>`/`<sep>`/`<eos>`), wrapped in transformers.PreTrainedTokenizerFast with bos/eos/sep/pad set and
saved with its save_pretrained (tokenizer.json + tokenizer_config.json). So
`AutoTokenizer.from_pretrained(folder)("<bos> 0 1 1 <sep>").input_ids` is the toolkit's encoding. No unknown
token (the model has no row for one): a symbol outside the vocabulary is refused — by name with
`trust_remote_code=True` (tokenizer_config.json's `auto_map` names torch_bridge/hf_tokenizer.py, copied into
the folder as tokenization_lengthgen.py), else with tokenizers' "Missing [UNK] token" message.

Hub cache: a model id cannot be downloaded here. A folder in the hub cache layout
(`models--ORG--NAME/` with `refs/main` and `snapshots/<hash>/`), one of its snapshot folders, or a bare
`ORG/NAME` found under $HF_HUB_CACHE / $HF_HOME/hub / ~/.cache/huggingface/hub is read locally.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Optional

from verify.problems import UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
TOKENIZER_CODE = "tokenization_lengthgen.py"   # torch_bridge/hf_tokenizer.py, copied
GENERATION_CONFIG = "generation_config.json"


def tokenizer_problem(tokens) -> Optional[str]:
    """Why these tokens cannot make a whitespace-split word-level tokenizer (None when they can)."""
    if not tokens:
        return "the config lists no tokens"
    bad = [t for t in tokens if not isinstance(t, str) or not t or any(ch.isspace() for ch in t)]
    if bad:
        return f"tokens must be non-empty and contain no whitespace (found {bad[:3]!r})"
    if len(set(tokens)) != len(tokens):
        return "the tokens are not distinct"
    return None


def write_tokenizer(cfg, folder) -> Optional[str]:
    """Write tokenizer.json + tokenizer_config.json for `cfg` (a GPT2Config) into `folder`.
    Returns None when written, else the reason it was not (a note for the caller to show)."""
    why = tokenizer_problem(list(cfg.tokens))
    if why is not None:
        return f"no tokenizer written: {why}"
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        return ("no tokenizer written: the tokenizers/transformers packages are not installed "
                "(pip install 'lengthgen-verify[hf]'); the weights and config.json are complete")
    vocab = {t: i for i, t in enumerate(cfg.tokens)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    special = {f"{role}_token": cfg.tokens[i] for role, i in cfg.special_token_ids().items()}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=cfg.n_positions,
                                   padding_side="right", **special)
    fast.save_pretrained(str(folder))
    # the class that names an unknown symbol (torch_bridge.hf_tokenizer), for trust_remote_code=True
    config_path = Path(folder) / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoTokenizer": [None, f"{TOKENIZER_CODE[:-3]}.TaskTokenizer"]}
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    (Path(folder) / TOKENIZER_CODE).write_text((Path(__file__).parent / "hf_tokenizer.py").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    return None


def generation_config(cfg) -> Optional[Dict[str, object]]:
    """generation_config.json for an LM-head model with an <eos>: greedy, stopping at <eos>, at most the
    position table's length (GPT-2 in transformers cannot go past it). None when there is nothing to say."""
    ids = cfg.special_token_ids()
    if cfg.head != "lm" or "eos" not in ids:
        return None
    out = {"eos_token_id": ids["eos"], "pad_token_id": ids["pad"], "do_sample": False, "max_length": cfg.n_positions}
    if "bos" in ids:
        out["bos_token_id"] = ids["bos"]
    return out


# ------------------------------------------------------------------------------------ hub cache
def _cache_roots():
    env = os.environ
    roots = []
    if env.get("HF_HUB_CACHE"):
        roots.append(Path(env["HF_HUB_CACHE"]))
    if env.get("HF_HOME"):
        roots.append(Path(env["HF_HOME"]) / "hub")
    roots.append(Path.home() / ".cache" / "huggingface" / "hub")
    return roots


def _snapshot(repo_dir: Path) -> Path:
    """models--ORG--NAME/ -> snapshots/<refs/main>/ (or the only snapshot)."""
    ref = repo_dir / "refs" / "main"
    snaps = repo_dir / "snapshots"
    if ref.is_file():
        rev = ref.read_text().strip()
        if rev and "/" not in rev and (snaps / rev).is_dir():
            return snaps / rev
        raise UserError(f"{repo_dir}: refs/main names snapshot {rev!r}, which is not in {snaps}")
    found = sorted(p for p in snaps.iterdir() if p.is_dir()) if snaps.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise UserError(f"{repo_dir}: a hub-cache folder without refs/main and with {len(found)} snapshots; "
                    f"pass one snapshot folder ({snaps}/<hash>)")


def resolve(path_text) -> Path:
    """A checkpoint argument -> a local path: as given when it exists (a hub-cache repo folder is resolved
    to its snapshot); a bare ORG/NAME is looked up in the local hub cache, never downloaded."""
    p = Path(path_text)
    if p.exists():
        if p.is_dir() and p.name.startswith("models--") and (p / "snapshots").is_dir():
            return _snapshot(p)
        return p
    text = str(path_text)
    parts = text.split("/")
    if len(parts) == 2 and all(parts) and not text.startswith((".", "/", "~")):
        name = "models--" + "--".join(parts)
        for root in _cache_roots():
            if (root / name).is_dir():
                return _snapshot(root / name)
        raise UserError(f"{text}: no such file or folder. If it is a Hugging Face model id: nothing is downloaded "
                        f"here — fetch it elsewhere (huggingface-cli download {text}) and pass the folder, or a "
                        f"hub-cache snapshot (…/{name}/snapshots/<hash>/, or …/{name}/ with refs/main); "
                        f"looked in {', '.join(str(r) for r in _cache_roots())}")
    raise UserError(f"{p}: no such file or folder")
