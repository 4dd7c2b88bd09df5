"""Human messages for parse errors: what was found, what the grammar expected there, and common mistakes."""

from __future__ import annotations

# The terminals that can start a value: when all are expected, say "a value" instead of listing them.
_VALUE_STARTERS = {"STRING", "RAW_STRING", "INT", "FLOAT", "TRUE", "FALSE", "NULL", "VAR", "OPERATOR", "LSQB"}

_DESCRIPTIONS = {
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "NAME": "a key",
    "VAR": "a $global",
    "DYNAMIC_KEY": "a ${...} key",
    "OPERATOR": "an @operator",
    "STRING": "a string",
    "RAW_STRING": "a string",
    "INT": "a number",
    "FLOAT": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "COMPARE": "a comparison",
    "_OROR": "'||'",
    "_ANDAND": "'&&'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "MULOP": "an operator",
    "BANG": "'!'",
    "_QMARK": "'?'",
    "_COLON": "':'",
    "_EQUALS": "'='",
    "COMMA": "','",
    "_DOT": "'.'",
    "_LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "SECTION_OPEN": "a [section] header",
    "SECTION_HEADER": "a [section] header",
    "STATIC_PAIR": "a key",
    "BLOCK_OPEN": "'{' or '>' (a block)",
    "BLOCK_CLOSE": "the end of the block",
}


def describe_unexpected(found_type: str, found_text: str, expected: set[str]) -> str:
    """The message for an unexpected token of type `found_type` where `expected` terminals would fit."""
    special = _common_mistake(found_type, found_text, expected)
    if special:
        return special
    return f"{_unexpected(found_type, found_text)}; expected {_expected(expected)}"


def describe_in_brackets(found_type: str, found_text: str, opener: str, closer: str) -> str | None:
    """The message for a token that cannot follow a complete item inside ( ), [ ] or { }."""
    if found_type in ("NAME", "VAR", "STRING", "RAW_STRING", "INT", "FLOAT", "TRUE", "FALSE", "NULL",
                      "OPERATOR", "LSQB", "LBRACE", "_LPAR"):  # fmt: skip
        found = _unexpected(found_type, found_text)
        return f"{found} inside '{opener}': expected ',' between the items or '{closer}'"
    return None


def _common_mistake(found_type: str, found_text: str, expected: set[str]) -> str | None:
    wants_value = "INT" in expected and "STRING" in expected
    if wants_value and found_type in ("_NL", "$END", "BLOCK_CLOSE"):
        return f"missing value: expected a value before {_found(found_type, found_text)}"
    if wants_value and found_type == "NAME":
        return (
            f"unexpected word '{found_text}': write a string in quotes (\"{found_text}\") "
            f"or a global with '$' (${found_text})"
        )
    if wants_value and found_type in ("RPAR", "RSQB", "RBRACE", "COMMA"):
        return f"missing value: expected a value before {_found(found_type, found_text)}"
    if found_type in ("SECTION_OPEN", "SECTION_HEADER") and "BLOCK_CLOSE" in expected:
        return "a [section] header cannot appear inside a block: close the block first"
    if {"_COLON", "_EQUALS"} <= expected and "BLOCK_OPEN" in expected:
        found = _unexpected(found_type, found_text)
        return f"{found}: expected ':' or '=' after the key, or '{{' to open a block"
    if found_type == "BLOCK_OPEN":
        return f"unexpected '{found_text}': a block opens right after a key at the start of a statement"
    if found_type in ("NAME", "VAR", "STRING", "INT", "FLOAT", "OPERATOR") and "_NL" in expected:
        found = _unexpected(found_type, found_text)
        return f"{found}: expected the end of the statement (a newline or ';')"
    return None


def _unexpected(found_type: str, found_text: str) -> str:
    """`unexpected 'x'` for a token written in the file, `found the end of the line` for a described one."""
    found = _found(found_type, found_text)
    return f"unexpected {found}" if found.startswith("'") else f"found {found}"


def _found(found_type: str, found_text: str) -> str:
    if found_type in ("_NL", "$END", "BLOCK_CLOSE") or not found_text:
        return _DESCRIPTIONS.get(found_type, found_type)
    shown = found_text if len(found_text) <= 30 else found_text[:27] + "..."
    return f"'{shown}'"


def _expected(expected: set[str]) -> str:
    names: list[str] = []
    remaining = set(expected)
    if _VALUE_STARTERS <= remaining:
        names.append("a value")
        remaining -= _VALUE_STARTERS | {"MINUS", "BANG", "LBRACE", "_LPAR"}
    for terminal in sorted(remaining):
        description = _DESCRIPTIONS.get(terminal, terminal)
        if description not in names:
            names.append(description)
    if not names:
        return "something else"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
