from __future__ import annotations

import time

import pandas as pd
import pytest

from synthgen.text.guard import LeakGuard, SharedIndex, longest_shared, reason_kind
from tests.conftest import shared_csv

TRAIN = [
    "The patient is a 54-year-old man with a long history of poorly controlled hypertension "
    "and type 2 diabetes, referred for chest pain on exertion.",
    "She reports mild nausea after each dose but the headaches have almost stopped.",
    "Dr. Okonkwo saw the patient on Tuesday and changed the dose.",
]


@pytest.fixture(scope="module")
def guard() -> LeakGuard:
    return LeakGuard(TRAIN, pii_values=["Okonkwo", "Maria Lindqvist", "Will"])


def test_exact_copy_is_rejected_even_with_other_case_and_spacing(guard):
    assert guard.check([TRAIN[1]]) == ["exact copy"]
    assert guard.check(
        ["  she REPORTS mild nausea after each dose\nbut the headaches have almost stopped. "]
    ) == ["exact copy"]


def test_a_60_char_shared_run_is_rejected_and_measured(guard):
    run = TRAIN[0][20:80]
    (reason,) = guard.check([f"Unrelated opening words. {run} And a new ending here."])
    assert reason is not None and reason_kind(reason) == "shares N chars with a training text"
    assert int(reason.split()[1]) >= 60


def test_clean_text_passes(guard):
    clean = "A new sentence about an allergy to penicillin, written from scratch for this test."
    assert guard.check([clean, ""]) == [None, None]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to j.doe@example.org for results", "e-mail"),
        ("his SSN is 123-45-6789 on file", "social security"),
        ("paid with 4111 1111 1111 1111 yesterday", "card"),
        ("logged in from 192.168.10.7 at noon", "IP"),
        ("call me on 218-346-6987 tomorrow", "phone"),
        ("Seen by Okonkwo in clinic.", "PII column"),
        ("maria   lindqvist came back", "PII column"),
    ],
)
def test_personal_data_is_flagged(guard, text, kind):
    (reason,) = guard.check([text])
    assert reason is not None and kind in reason


def test_lookalikes_of_personal_data_pass(guard):
    fine = [
        "card 4111 1111 1111 1112 fails Luhn",  # not a valid card number
        "blood pressure 120/80, took 2 tablets in 2005-2007",
        "we will see her again",  # 'Will' is a source name, but here a lower-case word
    ]
    assert guard.check(fine) == [None, None, None]


def test_word_ngram_overlap_catches_a_lightly_edited_copy():
    train = ["one two three four five six seven eight nine ten eleven twelve thirteen"]
    g = LeakGuard(train, max_shared_chars=200, ngram=4, ngram_share=0.5)
    edited = "one two three four five six seven eight nine ten eleven twelve fourteen"
    assert reason_kind(g.check([edited])[0] or "") == "repeats N% of its N-word runs from training"
    assert g.check(["one two three four and then something else entirely new here"]) == [None]


def test_longest_shared_counts_characters_after_normalising():
    index = SharedIndex.build(["abcdefghij klmnopqrst uvwxyz"], k=10)
    assert longest_shared("xx ABCDEFGHIJ  KLMNO yy", index) == len("abcdefghij klmno")
    assert longest_shared("abcdefghi", index) == 0  # shorter than k
    assert index.longest(["nothing", "klmnopqrst uv"]) == [0, 13]


def test_state_holds_hashes_only_and_restores_the_same_verdicts(guard):
    config, arrays = guard.to_state()
    blob = b"".join(a.tobytes() for a in arrays.values()) + str(config).encode()
    assert b"Okonkwo" not in blob and b"nausea" not in blob
    again = LeakGuard.from_state(config, arrays)
    probe = [TRAIN[0], "Seen by Okonkwo.", "clean new words only", TRAIN[2][:55] + " zz"]
    assert again.check(probe) == guard.check(probe)


def test_fast_on_druglib():
    df = pd.read_csv(shared_csv("druglib_reviews.csv"))
    train = df["commentsReview"].dropna().astype(str).str[:200].tolist()
    outputs = df["benefitsReview"].dropna().astype(str).str[:200].tolist()
    t0 = time.perf_counter()
    g = LeakGuard(train, pii_values=df["urlDrugName"].dropna().unique())
    reasons = g.check(outputs)
    assert time.perf_counter() - t0 < 6.0  # ~1 s alone; slack for a shared machine
    assert len(train) > 4000 and len(reasons) == len(outputs)
    assert sum(r == "exact copy" for r in reasons) > 10  # some reviewers paste both fields
