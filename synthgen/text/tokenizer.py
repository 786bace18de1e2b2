"""Byte-level BPE trained from scratch on one column (the ``tokenizers`` package).

Byte-level means every string encodes (no unknown token) and decodes back to itself. The
state is the tokenizer's own JSON, so saving and loading run no code.
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, BOS, SEP, EOS = "<|pad|>", "<|bos|>", "<|sep|>", "<|eos|>"
SPECIALS = (PAD, BOS, SEP, EOS)  # ids 0..3, in this order
BYTE_ALPHABET = 256


class TextTokenizer:
    """Encode prompts and texts to ids; the four special ids are fixed at 0..3."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tok = tokenizer
        self.tok.encode_special_tokens = True  # "<|eos|>" typed in a text is just text
        self.pad_id, self.bos_id, self.sep_id, self.eos_id = (self._id(s) for s in SPECIALS)

    def _id(self, token: str) -> int:
        i = self.tok.token_to_id(token)
        if i is None:
            raise ValueError(f"tokenizer has no {token} token")
        return int(i)

    @classmethod
    def train(cls, corpus: Sequence[str], vocab_size: int = 3000) -> TextTokenizer:
        """Learn merges on ``corpus``; the vocabulary is capped by what the data can fill."""
        tok = _bare()
        trainer = trainers.BpeTrainer(
            vocab_size=capped_vocab(corpus, vocab_size),
            min_frequency=2,
            special_tokens=list(SPECIALS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(list(corpus), trainer=trainer)
        return cls(tok)

    @classmethod
    def bytes_only(cls) -> TextTokenizer:
        """The 256 byte symbols and the specials, no merges: learns nothing from the data."""
        tok = _bare()
        trainer = trainers.BpeTrainer(
            vocab_size=BYTE_ALPHABET + len(SPECIALS),
            special_tokens=list(SPECIALS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator([], trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return int(self.tok.get_vocab_size())

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode_batch(self, ids: Sequence[Sequence[int]]) -> list[str]:
        return list(self.tok.decode_batch([list(x) for x in ids], skip_special_tokens=True))

    def to_json(self) -> str:
        return str(self.tok.to_str())

    @classmethod
    def from_json(cls, state: str) -> TextTokenizer:
        return cls(Tokenizer.from_str(state))


def capped_vocab(corpus: Sequence[str], requested: int) -> int:
    """Room for the byte alphabet and specials, plus about one merge per 40 characters."""
    chars = sum(len(t) for t in corpus)
    return max(BYTE_ALPHABET + len(SPECIALS) + 16, min(requested, 300 + chars // 40))


def _bare() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok
