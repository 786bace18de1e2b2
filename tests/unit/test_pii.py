"""PII detection by content and by column name; checksums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from synthgen.pii.checks import (
    faker_names,
    iban_valid,
    is_credit_card,
    luhn_check_digit,
    luhn_valid,
)
from synthgen.pii.find import detect_pii, name_hint, normalize_name
from synthgen.schema import detect

N = 300


def _fake(locale: str = "en_US", seed: int = 0) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _kind(values: list | pd.Series, name: str) -> tuple[str, str | None]:
    col = detect(pd.DataFrame({name: values}))[name]
    return col.kind, col.pii_type


# ---------------------------------------------------------------- checksums


@given(st.text(alphabet="0123456789", min_size=1, max_size=24), st.data())
def test_luhn_accepts_check_digit_and_rejects_any_single_digit_change(payload: str, data) -> None:
    number = payload + luhn_check_digit(payload)
    assert luhn_valid(number)
    pos = data.draw(st.integers(0, len(number) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != number[pos]]))
    assert not luhn_valid(number[:pos] + new + number[pos + 1 :])


def test_luhn_known_numbers() -> None:
    assert luhn_valid("4111 1111 1111 1111") and luhn_valid("79927398713")
    assert not luhn_valid("4111-1111-1111-1112") and not luhn_valid("12a4")
    assert is_credit_card(4111111111111111) and not is_credit_card("79927398713")  # too short
    assert not is_credit_card("0000 0000 0000 0000")


def test_iban_mod97() -> None:
    fake = _fake()
    assert all(iban_valid(fake.iban()) for _ in range(50))
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


# ---------------------------------------------------------------- names of columns


@pytest.mark.parametrize(
    ("name", "hint"),
    [("email", "email"), ("E-Mail", "email"), ("phone_number", "phone"), ("SSN", "ssn"),
     ("CustomerName", "person_name"), ("name", "person_name"), ("FirstName", "first_name"),
     ("surname", "last_name"), ("date_of_birth", "date_of_birth"), ("DOB", "date_of_birth"),
     ("IPAddress", "ip"), ("billing_address", "address"), ("zip", "postcode"),
     ("BillingCity", "city"), ("city-mpg", None), ("urlDrugName", "url"), ("drug_name", None),
     ("relationship", None), ("native-country", None), ("sex", None), ("id", None)],
)  # fmt: skip
def test_name_hint(name: str, hint: str | None) -> None:
    assert name_hint(name) == hint


def test_normalize_name() -> None:
    assert normalize_name("urlDrugName") == "url_drug_name"
    assert normalize_name("IPAddress") == "ip_address"
    assert normalize_name("city-mpg") == "city_mpg"


def test_faker_name_lists_handle_dicts_and_tuples() -> None:
    first, last = faker_names()  # en_US stores dicts of weights, de_DE tuples
    assert {"john", "mary", "jürgen"} <= first and {"smith", "müller"} <= last


# ---------------------------------------------------------------- content


def test_emails_under_a_meaningless_name() -> None:
    fake = _fake()
    kind, ptype = _kind([fake.email() for _ in range(N)], "x")
    assert (kind, ptype) == ("pii", "email")
    assert detect_pii(pd.Series([fake.email() for _ in range(N)]), "x")[1].endswith(
        "of sampled values are e-mail addresses"
    )


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])
def test_faker_person_names(locale: str) -> None:
    fake = _fake(locale)
    assert _kind([fake.name() for _ in range(N)], "who") == ("pii", "person_name")


def test_first_and_last_names() -> None:
    fake = _fake()
    assert _kind([fake.first_name() for _ in range(N)], "a") == ("pii", "first_name")
    assert _kind([fake.last_name() for _ in range(N)], "b") == ("pii", "last_name")


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])
def test_phone_numbers(locale: str) -> None:
    fake = _fake(locale)
    assert _kind([fake.phone_number() for _ in range(N)], "c") == ("pii", "phone")


def test_ssn_cards_ips_urls_ibans() -> None:
    fake = _fake()
    assert _kind([fake.ssn() for _ in range(N)], "c1") == ("pii", "ssn")
    cards = [fake.credit_card_number() for _ in range(N)]
    assert _kind(cards, "c2") == ("pii", "credit_card")
    spaced = [" ".join(c[i : i + 4] for i in range(0, len(c), 4)) for c in cards]
    assert _kind(spaced, "c3") == ("pii", "credit_card")
    assert _kind([fake.ipv4() for _ in range(N)], "c4") == ("pii", "ip")
    assert _kind([fake.ipv6() for _ in range(N)], "c5") == ("pii", "ip")
    assert _kind([fake.url() + fake.uri_path() for _ in range(N)], "c6") == ("pii", "url")
    assert _kind([fake.iban() for _ in range(N)], "c7") == ("pii", "iban")


def test_card_numbers_failing_luhn_are_not_cards() -> None:
    fake = _fake()
    bad = []
    for _ in range(N):
        c = fake.credit_card_number()
        bad.append(c[:-1] + str((int(c[-1]) + 1) % 10))
    kind, ptype = _kind(bad, "c")
    assert ptype != "credit_card" and kind != "pii"


@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])
def test_street_addresses(locale: str) -> None:
    fake = _fake(locale)
    assert _kind([fake.street_address() for _ in range(N)], "loc") == ("pii", "address")


def test_full_multiline_addresses() -> None:
    fake = _fake()
    assert _kind([fake.address() for _ in range(N)], "where") == ("pii", "address")


def test_date_of_birth() -> None:
    fake = _fake()
    births = [fake.date_of_birth(minimum_age=18, maximum_age=90) for _ in range(N)]
    assert _kind(pd.to_datetime(pd.Series(births)), "dob") == ("pii", "date_of_birth")
    col = detect(pd.DataFrame({"BirthDate": [b.strftime("%d/%m/%Y") for b in births]}))["BirthDate"]
    assert (col.kind, col.pii_type, col.datetime_format) == ("pii", "date_of_birth", "%d/%m/%Y")
    assert _kind(pd.to_datetime(pd.Series(births)), "visit_date") == ("datetime", None)


def test_free_text_is_not_pii() -> None:
    fake = _fake()
    assert _kind([fake.paragraph(nb_sentences=5) for _ in range(N)], "notes") == ("text", None)


# ---------------------------------------------------------------- no false positives


def test_numbers_are_not_pii_without_a_strong_name() -> None:
    rng = np.random.default_rng(0)
    assert _kind(rng.integers(10, 50, N), "city-mpg") == ("integer", None)
    ten_digits = rng.integers(2_000_000_000, 9_999_999_999, N)
    assert _kind(ten_digits, "amount") == ("integer", None)
    assert _kind(ten_digits, "phone") == ("pii", "phone")
    assert _kind(rng.integers(100_000_000, 899_999_999, N), "ssn") == ("pii", "ssn")
    assert _kind(rng.integers(0, 100, N), "phone") == ("integer", None)
    assert _kind(rng.normal(size=N), "phone") == ("numeric", None)


def test_lookalike_codes_are_not_pii() -> None:
    fake = _fake()
    assert _kind([fake.isbn13() for _ in range(N)], "isbn")[0] != "pii"  # dashes, 13 digits
    assert _kind([fake.ean13() for _ in range(N)], "ean") == ("id", None)
    assert _kind([fake.catch_phrase() for _ in range(N)], "name") == ("categorical", None)
    assert _kind([fake.company() for _ in range(N)], "company") == ("categorical", None)


def test_numeric_cards_and_zip_codes_need_the_name() -> None:
    fake = _fake()
    cards = [int(c) for c in (fake.credit_card_number() for _ in range(3 * N)) if len(c) == 16]
    kind, ptype = _kind(cards, "card_number")
    assert (kind, ptype) == ("pii", "credit_card")
    reason = detect(pd.DataFrame({"card_number": cards}))["card_number"].reason
    assert reason.startswith("name 'card_number' suggests card numbers and 100% of values")
    assert _kind(cards, "amount")[0] == "integer"
    assert _kind([fake.zipcode() for _ in range(N)], "zip_code") == ("pii", "postcode")


def test_categories_that_look_like_names_are_not_pii() -> None:
    rng = np.random.default_rng(0)
    sex = rng.choice(["Male", "Female", "Other"], N)
    assert _kind(sex, "sex") == ("categorical", None)
    race = rng.choice(
        ["White", "Black", "Asian-Pac-Islander", "Other"], N, p=[0.85, 0.1, 0.03, 0.02]
    )
    assert _kind(race, "race") == ("categorical", None)
    rel = rng.choice(["Husband", "Wife", "Own-child", "Unmarried", "Not-in-family"], N)
    assert _kind(rel, "relationship") == ("categorical", None)
    assert _kind(rng.choice(["southwest", "southeast", "northwest", "northeast"], N), "region") == (
        "categorical",
        None,
    )
    assert _kind(rng.choice(["Anna", "Maria", "John"], N), "name") == ("categorical", None)


# ---------------------------------------------------------------- by name only


def test_name_hint_with_loosely_fitting_values() -> None:
    masked = [f"user{i} at example dot org" for i in range(N)]
    pii_type, reason = detect_pii(pd.Series(masked), "email")
    assert pii_type == "email" and reason.startswith("name 'email' suggests e-mail addresses")
    assert _kind(masked, "email") == ("pii", "email")
    assert _kind(masked, "comment") == ("categorical", None)


def test_detect_pii_on_other_dtypes() -> None:
    assert detect_pii(pd.Series([True, False]), "email")[0] is None
    assert detect_pii(pd.Series([None, None], dtype=object), "email") == (
        None,
        "no values to check",
    )
    assert detect_pii(pd.Series(np.arange(N) * 1.5), "phone")[0] is None
