"""Pure domain rules: entities in their public shape, transition tables, resolution chains.

Only the standard library and pure helper libraries (phonenumbers; Faker for transcript text,
always seeded from the tenant RNG; orjson for frozen transcripts) are imported here; time and randomness come in as arguments.
"""
