from __future__ import annotations

import random

import pytest

COLOURS = {
    "red": ["apple", "rose", "fire truck", "cherry", "tomato"],
    "blue": ["sky", "ocean", "sapphire", "whale", "lake"],
    "green": ["grass", "leaf", "frog", "lime", "fern"],
}
TINY = {"size": "tiny", "context": 48, "epochs": 8, "batch_size": 32, "dropout": 0.0}


def colour_corpus(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """The prompt fixes the colour; the text names a thing of that colour."""
    rng = random.Random(seed)
    texts, prompts = [], []
    for _ in range(n):
        c = rng.choice(sorted(COLOURS))
        thing = rng.choice(COLOURS[c])
        texts.append(f"The {thing} is {c} and {rng.choice(['bright', 'soft', 'deep'])}.")
        prompts.append(f"colour: {c}\n")
    return texts, prompts


@pytest.fixture(scope="session")
def fitted_local():
    """One tiny model on the colour corpus, shared by the tests that only read it."""
    from synthgen.text.local import LocalBackend

    texts, prompts = colour_corpus(300)
    backend = LocalBackend(**TINY)
    backend.fit(texts, prompts, seed=0)
    return backend
