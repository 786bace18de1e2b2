from __future__ import annotations

from synthgen.text.tokenizer import SPECIALS, TextTokenizer, capped_vocab

CORPUS = [
    "The patient denies chest pain.\r\nNo fever.",
    "Café au lait spots, naïve façade — 😀 emoji",
    "  leading and trailing spaces  ",
] * 20


def test_round_trip_is_exact_for_any_text():
    tok = TextTokenizer.train(CORPUS, vocab_size=400)
    unseen = ["Ünïcödé never seen: ж, 漢字, tabs\tand\n\nnewlines", "", "   "]
    for text in CORPUS[:3] + unseen:
        assert tok.decode_batch(tok.encode_batch([text])) == [text]


def test_specials_have_fixed_ids_and_are_dropped_on_decode():
    tok = TextTokenizer.train(CORPUS, vocab_size=400)
    assert (tok.pad_id, tok.bos_id, tok.sep_id, tok.eos_id) == (0, 1, 2, 3)
    ids = tok.encode_batch(["No fever."])[0]
    assert tok.decode_batch([[tok.bos_id, *ids, tok.eos_id, tok.pad_id]]) == ["No fever."]
    assert all(s in tok.tok.get_vocab() for s in SPECIALS)


def test_special_token_strings_inside_a_text_stay_plain_text():
    tok = TextTokenizer.from_json(TextTokenizer.train(CORPUS, vocab_size=400).to_json())
    text = "a <|eos|> in the middle, <|pad|> too"
    ids = tok.encode_batch([text])[0]
    assert not {tok.pad_id, tok.bos_id, tok.sep_id, tok.eos_id} & set(ids)
    assert tok.decode_batch([ids]) == [text]


def test_merges_compress_and_json_state_restores_the_same_tokenizer():
    tok = TextTokenizer.train(CORPUS, vocab_size=400)
    text = CORPUS[0]
    assert len(tok.encode_batch([text])[0]) < len(text.encode("utf-8")) / 2
    again = TextTokenizer.from_json(tok.to_json())
    assert again.encode_batch(CORPUS[:3]) == tok.encode_batch(CORPUS[:3])
    assert again.vocab_size == tok.vocab_size


def test_bytes_only_tokenizer_learns_nothing_and_still_round_trips():
    tok = TextTokenizer.bytes_only()
    assert tok.vocab_size == 256 + len(SPECIALS)
    text = "naïve 😀"
    assert len(tok.encode_batch([text])[0]) == len(text.encode("utf-8"))
    assert tok.decode_batch(tok.encode_batch([text])) == [text]


def test_vocabulary_is_capped_by_the_data():
    assert capped_vocab(["short text"] * 3, 4000) < 400
    assert capped_vocab(["x" * 400_000], 4000) == 4000
