"""JSON Schemas of the contracts, and one way to check a document against them."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgapctl.errors import BadInputError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``<name>.schema.json`` shipped in this package (policy, access, access_log, envelope, ...)."""
    from importlib import resources

    return json.loads(resources.files(__package__).joinpath(f"{name}.schema.json").read_text())


@cache
def schema_digest(name: str) -> str:
    """SHA-256 of the schema file as shipped: what a check made against it can be remembered by."""
    # Read beside this module, as importlib.resources would find it: without its readers (zipfile
    # and more), which a daily audit, that checks nothing, would load for this alone.
    return hashlib.sha256((Path(__file__).parent / f"{name}.schema.json").read_bytes()).hexdigest()


@cache
def validator(name: str) -> Draft202012Validator:
    # Imported here: jsonschema only explains failures, and importing it costs every command 75 ms.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


@cache
def fast_check(name: str):
    """The schema compiled to Python code: the contracts use no keyword newer than draft 7, and
    a 2,000-operation policy checks in milliseconds instead of seconds with jsonschema."""
    import fastjsonschema  # here: a run that checks nothing (a policy known valid) does without it

    schema = {**load_schema(name), "$schema": "http://json-schema.org/draft-07/schema#"}
    # Formats are not asserted, as with jsonschema's default: dates are checked where they are read.
    return fastjsonschema.compile(schema, use_formats=False)


def json_pointer(path) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else "/"


def describe(error: ValidationError) -> str:
    """A short phrase for one schema error, naming unknown keys and expected types plainly."""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed keys: {', '.join(allowed)}"
    return error.message


def check_document(document: Any, name: str, file: str) -> None:
    """Raise BadInputError naming the file, the JSON pointer and the problem of the best error."""
    import fastjsonschema

    try:
        fast_check(name)(document)
        return
    except fastjsonschema.JsonSchemaValueException as fast_error:
        # jsonschema explains the failure better (best match, all errors); it runs only now.
        errors = list(validator(name).iter_errors(document))
        if not errors:  # only the stricter fast check objects (e.g. a date format): still refuse
            raise BadInputError(
                f"{file}: {json_pointer(fast_error.path[1:])}: {fast_error.message}",
                hint=f"fix that field; the format is airgapctl/schemas/{name}.schema.json",
            ) from None
    from jsonschema.exceptions import best_match

    error = best_match(errors)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise BadInputError(
        f"{file}: {json_pointer(error.absolute_path)}: {describe(error)}{more}",
        hint=f"fix that field; the format is airgapctl/schemas/{name}.schema.json",
    )
