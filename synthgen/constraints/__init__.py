"""Rules every synthetic row obeys: declared in a recipe (``spec``), found in the data
(``detect``), kept by construction (``enforce``) or by capped resampling (``sampling``),
counted (``check``, the ``constraint_violations`` metric); ``stage`` is what a run calls."""
