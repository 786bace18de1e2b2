from __future__ import annotations

import pytest
import torch

from synthgen.text.gpt import GPT, GPTConfig, SamplingOptions, pick_next, sample

PROMPTS = [[1, 5, 6, 7, 2], [1, 9, 2], [1, 4, 4, 4, 4, 4, 4, 4, 2]]


@pytest.fixture
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=40, context=40, d_model=32, n_layer=2, n_head=4)).eval()


def opts(**kw) -> SamplingOptions:
    return SamplingOptions(**{"max_new_tokens": 12, "eos_id": 3, "pad_id": 0, **kw})


def test_kv_cached_greedy_equals_recomputing_every_step(model):
    g = torch.Generator()
    cached = sample(model, PROMPTS, opts(temperature=0), g)
    full = sample(model, PROMPTS, opts(temperature=0), g, use_cache=False)
    assert cached == full
    assert any(len(x) > 3 for x in cached)


def test_left_padded_batch_samples_each_prompt_as_if_alone(model):
    batch = sample(model, PROMPTS, opts(temperature=0), torch.Generator())
    alone = [sample(model, [p], opts(temperature=0), torch.Generator())[0] for p in PROMPTS]
    assert batch == alone


def test_same_seed_same_tokens_other_seed_differs(model):
    def run(seed: int) -> list[list[int]]:
        return sample(
            model, PROMPTS * 4, opts(temperature=1.0), torch.Generator().manual_seed(seed)
        )

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_length_limits(model):
    out = sample(model, PROMPTS, opts(temperature=1.0, max_new_tokens=5), torch.Generator())
    assert all(len(x) <= 5 for x in out)
    with pytest.raises(ValueError, match="no room"):
        sample(model, [[1] * 40], opts(), torch.Generator())


def test_top_p_keeps_only_the_nucleus():
    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0]]).repeat(200, 1)
    g = torch.Generator().manual_seed(0)
    narrow = pick_next(logits, 1.0, 1e-6, g)
    assert (narrow == 1).all()
    wide = pick_next(logits, 1.0, 0.9, g)
    assert set(wide.tolist()) == {1, 2}  # 1 and 2 hold ~99% of the mass; 0 and 3 are cut
    assert (pick_next(logits, 0.0, 0.9, g) == 1).all()  # temperature 0: greedy


@pytest.mark.parametrize(
    ("top_p", "want"),
    [
        (1.0, [0.5, 0.3, 0.15, 0.05]),  # no nucleus: the distribution itself
        (0.7, [0.625, 0.375, 0.0, 0.0]),  # 0.5 + 0.3 reach 0.7: renormalised over those two
        (0.85, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0]),
        (0.4, [1.0, 0.0, 0.0, 0.0]),  # the top token alone holds 0.4
    ],
)
def test_nucleus_draws_follow_the_renormalised_nucleus(top_p, want):
    """Drawing with rejection must give exactly the nucleus distribution, also for rows whose
    draws keep falling outside it (they fall back to sorting)."""
    probs = torch.tensor([0.05, 0.3, 0.5, 0.15])  # shuffled: order must not matter
    logits = probs.log().repeat(40_000, 1)
    got = pick_next(logits, 1.0, top_p, torch.Generator().manual_seed(1))
    freq = torch.bincount(got, minlength=4).float() / len(got)
    want_t = torch.tensor(want)[[3, 1, 0, 2]]  # the same shuffle
    assert torch.allclose(freq, want_t, atol=0.01), (freq, want_t)


def test_guided_sampling_cached_equals_recomputed_and_is_each_prompt_alone(model):
    nulls = [[1, 2]] * len(PROMPTS)
    o = opts(temperature=0, guidance=2.5)
    cached = sample(model, PROMPTS, o, torch.Generator(), null_prompts=nulls)
    full = sample(model, PROMPTS, o, torch.Generator(), null_prompts=nulls, use_cache=False)
    alone = [sample(model, [p], o, torch.Generator(), null_prompts=[[1, 2]])[0] for p in PROMPTS]
    assert cached == full == alone
    plain = sample(model, PROMPTS, opts(temperature=0), torch.Generator())
    assert cached != plain  # the weight changes what is picked


def test_guidance_mixes_the_two_next_token_distributions(model):
    """The first guided token is the argmax of null + w (row - null), computed by hand."""
    prompt, null, w = PROMPTS[0], [1, 2], 3.0
    with torch.no_grad():
        row_logits = model(torch.tensor([prompt]))[0][0, -1]
        null_logits = model(torch.tensor([null]))[0][0, -1]
    want = int((null_logits + w * (row_logits - null_logits)).argmax())
    got = sample(
        model, [prompt], opts(temperature=0, guidance=w), torch.Generator(), null_prompts=[null]
    )
    assert got[0][:1] == [want] or (not got[0] and want == 3)
    with pytest.raises(ValueError, match="one null prompt per prompt"):
        sample(model, PROMPTS, opts(guidance=2.0), torch.Generator(), null_prompts=[null])
