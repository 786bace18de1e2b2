"""PII inside values: found, replaced with consistent fakes, and never replayed."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.pii.pseudonym import Pseudonymiser
from synthgen.pii.scan import find_pii, known_values
from synthgen.pii.stage import scan_output, scrub_frame, source_pii
from synthgen.schema import apply_overrides, detect


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


def test_a_label_naming_a_source_city_is_not_personal_data_but_a_name_is() -> None:
    # Chinook's invoices: Dublin is a billing city and, for Ireland, the billing state too
    first, last = ["Ann", "Bo", "Cy", "Dee", "Eve", "Fay"], ["Lee", "Moss", "Nash", "Orr", "Pike"]
    names = [f"{first[i % 6]} {last[i // 6 % 5]}" for i in range(60)]
    df = pd.DataFrame(
        {
            "name": names,
            "city": [["Dublin", "Oslo", "Lyon", "Porto", "Graz"][i % 5] for i in range(60)],
            "state": [["Dublin", "Bavaria", "Ontario"][i % 3] for i in range(60)],
            "contact": [[names[7], "sales", "support"][i % 3] for i in range(60)],
            "note": [
                f"moved from Dublin in week {i}, all other details unchanged" for i in range(60)
            ],
        }
    )
    pii = {"kind": "pii"}
    over = {"city": pii | {"pii_type": "city"}, "name": pii | {"pii_type": "person_name"}}
    schema = apply_overrides(detect(df), over, df)
    assert schema["state"].kind == "categorical" and schema["contact"].kind == "categorical"
    _, found = scrub_frame(df, schema, source_pii(df, schema), "flag", None)
    assert "state" not in found  # a place shared by many people
    assert found["contact"] == {"source_value": 1}  # a real person's name still is
    assert found["note"] == {"source_value": 60}  # and free text naming the city still is
    # the same on the way out: a synthetic state 'Dublin' is not reported as replayed PII
    labels = frozenset(c.name for c in schema.columns if c.kind != "text")
    out = scan_output(df, source_pii(df, schema), {"name", "city"}, labels)
    assert "state" not in out and out["contact"] == {"source_value": 1}
    assert out["note"] == {"source_value": 60}
