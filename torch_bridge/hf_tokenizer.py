"""The tokenizer class of a folder `verify train` writes (copied there as tokenization_lengthgen.py; the
folder's tokenizer_config.json names it in `auto_map`): the same word-level tokenizer, plus a clear error
naming any symbol that is not in the task's vocabulary.

    AutoTokenizer.from_pretrained(folder, trust_remote_code=True)("<bos> 0 2")
    ValueError: symbol '2' (word 3) is not in this model's vocabulary: <bos>, 0, 1, <sep>, <eos>

The vocabulary has no unknown token on purpose: the model has no row for one, and reading an unknown
symbol as some other symbol would be a confident wrong answer. Without trust_remote_code the plain
`transformers` tokenizer loads instead; it refuses the same inputs, with tokenizers' own message
("WordLevel error: Missing [UNK] token from the vocabulary"). Needs only transformers.
"""
from transformers import PreTrainedTokenizerFast


class TaskTokenizer(PreTrainedTokenizerFast):
    def _check(self, text) -> None:
        if isinstance(text, (list, tuple)):
            for item in text:
                self._check(item)
            return
        if not isinstance(text, str):
            return
        vocab = self.get_vocab()
        for n, word in enumerate(text.split(), 1):
            if word not in vocab:
                known = ", ".join(sorted(vocab, key=vocab.get))
                raise ValueError(f"symbol {word!r} (word {n}) is not in this model's vocabulary: {known}")

    def __call__(self, text=None, text_pair=None, *args, **kwargs):
        self._check(text)
        self._check(text_pair)
        return super().__call__(text, text_pair, *args, **kwargs)

    def encode(self, text, text_pair=None, *args, **kwargs):
        self._check(text)
        self._check(text_pair)
        return super().encode(text, text_pair, *args, **kwargs)

    def tokenize(self, text, *args, **kwargs):
        self._check(text)
        return super().tokenize(text, *args, **kwargs)
