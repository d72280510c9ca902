"""Service-quality evaluation maths (SPEC §8): AHP, fuzzy comprehensive evaluation, SERVQUAL, IPA, key drivers.

Pure functions over numbers: numpy only, no Django (ARCHITECTURE layer 7), so the maths can be read and tested on its
own.  docs/evaluation.md explains every formula and the RI tables.
"""
