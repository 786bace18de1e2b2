"""Everything about personal data, in one place: find it (by column name and by content),
fake it (Faker, locale-aware), pseudonymise it (keyed hash, consistent across runs), scrub it
from inside other values, and scan a run's output for it.

- ``find``: which columns are PII, and which PII type (used by schema detection)
- ``scan``: PII inside free text, labels and ids; known source values
- ``fake``: fake values per PII type and locale
- ``pseudonym``: keyed fakes, the same real value -> the same fake under one secret
- ``stage``: the run's PII steps (scrub before the fit, strategies and consistent keys after
  sampling, output scan)
"""
