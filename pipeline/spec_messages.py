"""Pydantic's errors about a spec entry, and what YAML made of a value, told as an artist fixes them: the key,
what it should be, what was given, and the nearest valid spelling."""

from __future__ import annotations

import datetime
import difflib
import math
import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

_TYPE_LABELS = {"str", "int", "float", "bool", "none", "dict", "list"}
_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}  # pydantic's error types
_NUMBERS = {"int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
            "float_type": "a number", "float_parsing": "a number"}  # pydantic's error types -> what the key takes


def validation_problems(
    schema: type[BaseModel], exc: ValidationError, entry_keys: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str]]:
    """Each key of an entry that ``schema`` refused, with one line saying why; ``entry_keys`` are the entry's own
    keys beside the schema's (``op``), for hints."""
    by_key: dict[tuple[str, ...], list[Any]] = {}
    for error in exc.errors():
        loc = _field_path(error["loc"])
        if error["type"] == "extra_forbidden":  # the last part is the user's key, whatever its spelling
            loc = (*_field_path(error["loc"][:-1]), str(error["loc"][-1]))
        by_key.setdefault(loc, []).append(error)
    problems = []
    for loc, errors in by_key.items():
        if loc and any(len(other) > len(loc) and other[: len(loc)] == loc for other in by_key):
            continue  # a union's other branch took this value and got further into it: its error says more
        problems.append((loc, _explain(schema, loc, errors, entry_keys)))
    return problems


def _explain(schema: type[BaseModel], loc: tuple[str, ...], errors: list[Any], entry_keys: tuple[str, ...]) -> str:
    """One line for the errors pydantic gives about one key: one per branch of a union (``wrap: maybe``
    is neither ``auto`` nor a boolean) become one \"should be this or that\"."""
    kinds = {error["type"] for error in errors}
    if "extra_forbidden" in kinds:
        return _unknown_key(schema, loc, entry_keys if len(loc) == 1 else ())
    if "missing" in kinds:
        return "missing: this key is required"
    if kinds == {"value_error"}:  # our own validators' messages, which already show the value
        return "; ".join(error["msg"].removeprefix("Value error, ") for error in errors)
    given = errors[0].get("input")
    if kinds == {"invalid_key"}:  # {seed: 1,5}: a comma in braces ends an entry, and 5 is a key of its own
        return (f"YAML reads this key as {yaml_kind(given)} ({given}), not a name: where a comma inside {{ }} split a "
                "number (seed: 1,5 reads as seed: 1 and a key 5), write a decimal with a point (1.5) and a large "
                "number without commas (3000)")
    if kinds <= _BOUNDS and isinstance(given, float) and math.isnan(given):  # "should be less than 1, got nan"
        return "expected a number, got .nan (not a number)"
    # root: 2024-05-01, root: 1.10; a weights file's path: 2024-05-01 (pydantic says "not a valid path for <class ...>")
    if kinds <= {"string_type", "path_type"} and isinstance(given, (int, float, datetime.date)):
        return f"expected text, but YAML reads the unquoted value as {yaml_kind(given)} ({given}); put it in quotes"
    if kinds <= {"list_type", "tuple_type"}:  # maps: albedo, where pydantic says "a valid tuple"
        example = f", such as [{given}]" if isinstance(given, (str, int, float)) and not isinstance(given, bool) else ""
        return f"expected a list in brackets{example}, got {given!r}"
    # "…a valid boolean, unable to interpret…", "…a valid integer, got a number with a fractional part"
    first, *others = (_expected(schema, loc, error) for error in errors)
    wanted = " or ".join([first, *(other.removeprefix("Input should be ") for other in others)])
    if kinds <= _NUMBERS.keys():  # a number alone: said as the module's other messages say what a key takes
        wanted = wanted.replace("Input should be ", "expected ", 1)
    choices = [c for e in errors if e["type"] == "literal_error" for c in re.findall(r"'([^']*)'", e["ctx"]["expected"])]
    if isinstance(given, str) and kinds & {"int_parsing", "float_parsing"} and (
            fix := _in_digits(given, whole="float_parsing" not in kinds)):
        return f"{wanted}, got {given!r}; {fix}"
    return f"{wanted}, got {_as_written(given)}" + (_choice_hint(given, choices, _description(schema, loc))
                                         if isinstance(given, str) and choices else "")


def _as_written(given: Any) -> str:
    """A refused value as YAML writes it (``true``, ``nothing`` for an empty key), not as Python does (``True``,
    ``None``); text in quotes."""
    if given is None:
        return "nothing"
    return str(given).lower() if isinstance(given, bool) else repr(given)


def _in_digits(given: str, whole: bool) -> str:
    """How to write a number that came with a unit or in words (``size: 512px``, ``scale: 2x``, ``count: four``):
    the spec's numbers are digits alone. "" for a number that is only of the wrong kind (``"2.5"`` for a count).
    Its sign, exponent and thousands are kept: ``steps: 3,000`` is 3000, not 3, and ``steps: 3 000`` too. A decimal
    comma (``normal_strength: 0,5``, which YAML reads as text) is written with a point, not cut at the comma to 0;
    where the key takes a ``whole`` number (``seed: 1,5``), none is guessed."""
    decimal = re.search(r"([-+]?(\d+)),(\d+)", given)
    # Not thousands, as 3,000 is; nor is 0,250, as no number of thousands begins with 0
    if decimal and (len(decimal[2]) > 3 or decimal[2].startswith("0") or len(decimal[3]) != 3):
        return ("a comma is no decimal point, and this key takes no decimals: write one whole number in digits" if whole
                else f"write the number with a point for its decimals, not a comma: {decimal[1]}.{decimal[3]}")
    number = re.search(r"[-+]?(?:\d{1,3}(?:([,' ])\d{3})(?:\1\d{3})*|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?", given)
    if number is None:
        return "write the number in digits"
    separator = number[1]
    digits = number[0].replace(separator, "") if separator else number[0]
    if number[0] != given.strip():
        return f"write the number alone, without a unit: {digits}"
    separators = {",": "commas", " ": "spaces", "'": "apostrophes"}
    return "" if separator is None else f"write the number without {separators[separator]}: {digits}"


def _description(schema: type[BaseModel], loc: tuple[str, ...]) -> str:
    """The description of the field at ``loc``, which says what each of its choices does; "" where it has none."""
    field = getattr(_model_at(schema, loc[:-1]), "model_fields", {}).get(loc[-1]) if loc else None
    return (field.description or "") if field is not None else ""


def _choice_hint(given: str, choices: list[str], description: str) -> str:
    """The choice meant by a word that names none: the one whose own words in the field's description hold it
    as a word (``alpha_mode: cutout`` is ``mask (a cut-out, ...)``), else the nearest spelling; where neither is found, the
    description itself where it says what each choice is for (``method: flash_only``)."""
    def bare(text: str) -> str:
        return re.sub(r"[\W_]", "", text.lower())

    explained = {choice: words[1] for choice in choices
                 if (words := re.search(rf"\b{re.escape(choice)} \(([^()]*)\)", description))}
    described = [choice for choice, words in explained.items() if bare(given) in map(bare, re.findall(r"[\w-]+", words))]
    if len(described) == 1:
        return f"; did you mean {described[0]!r}?"
    return did_you_mean(given, choices) or (f"; {description}" if explained else "")


def _expected(schema: type[BaseModel], loc: tuple[str, ...], error: Any) -> str:
    """What pydantic says one error expected, without the Python it names: ``a valid dictionary or instance of
    LossWeights`` is a mapping of that model's keys, ``a valid path for <class 'pathlib.Path'>`` a file's path."""
    if error["type"] == "model_type":
        keys = list(getattr(_model_at(schema, loc), "model_fields", {}))
        return "Input should be a mapping like {" + ", ".join(f"{key}: ..." for key in keys) + "}"
    if error["type"] == "path_type":
        return "Input should be a file's path"
    if error["type"] in _NUMBERS:  # "a valid integer": Python's word
        return f"Input should be {_NUMBERS[error['type']]}"
    return str(error["msg"]).split(", unable")[0].split(", got")[0]


def _model_at(schema: type[BaseModel], loc: tuple[str, ...]) -> Any:
    """The nested model at ``loc`` in ``schema`` (``loss`` of train_srcae's params), or None where there is none."""
    model: Any = schema
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        model = field.annotation if field is not None else None
        model = next((t for t in typing.get_args(model) if hasattr(t, "model_fields")), model)  # str | WeightsFile
    return model


def _unknown_key(schema: type[BaseModel], loc: tuple[str, ...], entry_keys: tuple[str, ...] = ()) -> str:
    """``unknown key``, with the closest key the schema (or the nested model at ``loc``) has."""
    model = _model_at(schema, loc[:-1])
    keys = sorted([*getattr(model, "model_fields", {}), *entry_keys])
    hint = did_you_mean(loc[-1], keys) if loc else ""
    return f"unknown key{hint} (keys here: {', '.join(keys)})" if keys else "unknown key"


def _field_path(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """Keep the key names of a pydantic error location, dropping union-branch labels (``str``, ``WeightsFile``)."""
    return tuple(
        str(part)
        for part in loc
        if isinstance(part, int) or (re.fullmatch(r"[a-z_][a-z0-9_]*", part) and part not in _TYPE_LABELS)
    )


def yaml_kind(value: Any) -> str:
    """What YAML made of an unquoted scalar that was meant as text."""
    if isinstance(value, datetime.date):
        return "a date"
    return "a boolean" if isinstance(value, bool) else "a number"


def did_you_mean(given: str, choices: list[str]) -> str:
    """``; did you mean 'lanczos'?`` for ``lanczoz``, or nothing when no choice is close."""
    close = difflib.get_close_matches(given, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
