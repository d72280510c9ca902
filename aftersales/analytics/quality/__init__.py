"""Service-quality evaluation in the product (SPEC §8, issue 13): the index hierarchy of a store or group with its
AHP weights (`services`), the presets it starts from (`presets`), and the reads built on it (`selectors`).  The
maths is `analytics.evaluation` (pure numpy)."""
