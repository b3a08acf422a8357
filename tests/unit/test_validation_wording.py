"""``details`` strings: one per offending field, naming the field and why."""

from jsonschema import Draft4Validator

from sandbox.api.validation import all_errors

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["leadId", "message"],
    "properties": {
        "leadId": {"type": "string", "minLength": 1},
        "message": {"type": "string", "maxLength": 5},
        "to": {"type": "string", "pattern": "^\\+[1-9][0-9]{1,14}(?!\\n)$"},
        "ids": {"type": "array", "maxItems": 1, "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"zip": {"type": "string"}}},
        "platform": {"type": "string", "enum": ["facebook", "tiktok"]},
    },
}


def details(instance):
    return all_errors(Draft4Validator(SCHEMA), instance)


def test_every_offending_field_is_reported():
    found = details({"message": "too long!", "to": "+1٢٣٤", "ids": ["a", 2], "platform": "x", "extra": 1})
    assert "leadId: is required" in found
    assert "message: must be at most 5 characters long" in found
    assert any(d.startswith("to: must match the pattern") for d in found)
    assert "ids: must have at most 1 items" in found
    assert "ids[1]: must be a string" in found
    assert "platform: must be one of facebook, tiktok" in found
    assert "extra: is not an allowed field" in found


def test_nested_paths_are_dotted():
    assert details({"leadId": "l", "message": "m", "address": {"zip": 12345}}) == ["address.zip: must be a string"]


def test_trailing_newline_does_not_sneak_past_the_phone_pattern():
    assert details({"leadId": "l", "message": "m", "to": "+14155550123\n"})
    assert details({"leadId": "l", "message": "m", "to": "+14155550123"}) == []
