"""PII inside values: found, replaced with consistent fakes, and never replayed."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.pii.pseudonym import Pseudonymiser
from synthgen.pii.scan import find_pii, known_values
from synthgen.pii.stage import scrub_frame, source_pii
from synthgen.schema import detect


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("mail me at ann.lee@example.org today", "email", "ann.lee@example.org"),
        ("SSN 123-45-6789 on file", "ssn", "123-45-6789"),
        ("card 4111 1111 1111 1111 declined", "credit_card", "4111 1111 1111 1111"),
        ("from host 10.20.30.40 at noon", "ip", "10.20.30.40"),
        ("call +1 (415) 555-0100 after six", "phone", "+1 (415) 555-0100"),
        ("call 415-555-0100 after six", "phone", "415-555-0100"),
        ("patient DOB: 1961-03-04, seen", "date_of_birth", "1961-03-04"),
        ("Mary Johnson (March 3, 1960) admitted", "date_of_birth", "March 3, 1960"),
    ],
)
def test_each_kind_of_embedded_pii_is_found(text: str, kind: str, value: str) -> None:
    hits = find_pii(text)
    assert [(h.kind, h.value) for h in hits] == [(kind, value)]


def test_clinical_numbers_are_not_pii() -> None:
    text = (
        "BP 120/80, temp 37.5, dose 2.5 mg twice daily since 2020-01-01; follow up in 3 weeks; "
        "card 4111 1111 1111 1112 fails Luhn; version 1.2.3.4.5"
    )
    assert find_pii(text) == []


def test_source_names_are_found_with_or_without_titles() -> None:
    known = known_values(["Mrs. Christina Francis PhD", "Al"])
    hits = find_pii("Seen by christina francis; Al said hello", known)
    assert [h.value for h in hits] == ["christina francis"]  # 'Al' is too short to trust


def test_pseudonyms_are_keyed_consistent_and_never_real() -> None:
    a, b = Pseudonymiser(b"k1"), Pseudonymiser(b"k1")
    other = Pseudonymiser(b"k2")
    assert a.fake("email", "x@y.org") == b.fake("email", "x@y.org")
    assert a.fake("email", "x@y.org") != other.fake("email", "x@y.org")
    real = a.fake("person_name", "Ann Lee")
    c = Pseudonymiser(b"k1")
    assert c.fake("person_name", "Ann Lee", exclude={real.casefold()}) != real
    assert "k1" not in repr(a)


def test_scrub_replaces_embedded_pii_the_same_way_everywhere() -> None:
    df = pd.DataFrame(
        {
            "name": [f"Person{i} Surname{i}" for i in range(60)],
            "note": [
                f"wrote from ann.lee@example.org about item {i}, the visit went fine overall"
                for i in range(60)
            ],
        }
    )
    schema = detect(df)
    out, found = scrub_frame(df, schema, source_pii(df, schema), "replace", Pseudonymiser(b"s"))
    assert found["note"]["email"] == 60
    assert not out["note"].str.contains("ann.lee@example.org").any()
    fakes = out["note"].str.extract(r"from (\S+@\S+) about")[0]
    assert fakes.nunique() == 1  # one real address -> one fake, in every row
    flagged, _ = scrub_frame(df, schema, source_pii(df, schema), "flag", Pseudonymiser(b"s"))
    pd.testing.assert_frame_equal(flagged, df)
