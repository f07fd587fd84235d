"""What a loaded OpenAPI definition is, whatever its version (2.0, 3.0, 3.1).

The loader produces these; the policy compiler reads only these, never the raw document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")

# What kind of problem a SpecIssue is, and how the summary line names a count of them.
KINDS = {
    "document": "unreadable document",
    "reference": "broken $ref",
    "ref-not-allowed": "$ref where OpenAPI allows none",
    "no-paths": "missing paths",
    "structure": "OpenAPI structure",
    "json-schema": "Schema Object",
    "default-type": "default of the wrong type",
    "path-parameter": "path parameter",
    "duplicate": "duplicate",
    "extension": "x- extension",
    "no-operations": "no operation",
}


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one place: printed as ``FILE:POINTER: MESSAGE``.

    ``kind`` groups it (one of KINDS), ``fix`` says what to change when the mistake is a known one,
    and ``position`` orders it as written: the index of each pointer token in its file.
    """

    file: str
    pointer: str  # JSON pointer inside that file, "" for the whole document
    message: str
    kind: str = field(default="structure", compare=False)
    fix: str | None = field(default=None, compare=False)
    position: tuple[int, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.pointer or '/'}: {self.message}"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header or cookie
    required: bool
    # The parameter's JSON Schema with every $ref resolved; a reference cycle is cut
    # and replaced by {} (any value), which is all a gateway can enforce on it.
    schema: dict[str, Any] = field(default_factory=dict)
    # How an array value is written: OpenAPI's style and explode (3.x defaults filled in; a
    # Swagger 2.0 collectionFormat read as the style that writes the same).
    style: str = "form"
    explode: bool = True


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, one of HTTP_METHODS
    path: str  # the template as the spec writes it, e.g. /pets/{petId}
    operation_id: str | None  # None when the spec gives none (the compiler generates one)
    tags: tuple[str, ...]
    deprecated: bool
    sunset: str | None  # ISO date from the x-sunset extension, if any
    parameters: tuple[Parameter, ...]  # path-item and operation parameters merged
    body_required: bool
    content_types: tuple[str, ...]  # request media types; () when the operation takes no body
    file: str  # the file the operation is written in
    pointer: str  # JSON pointer of the operation object in that file
    # The JSON body's schema, bundled (refs.SchemaBundler), and the media type it is written
    # for; None when no JSON media type of the body has a schema.
    body_schema: dict[str, Any] | None = None
    body_schema_media_type: str | None = None


@dataclass(frozen=True)
class LoadedSpec:
    path: str  # the root file as given
    sha256: str  # digest over the root file and every file it references, in a fixed order
    files: tuple[str, ...]  # every file read, root first
    openapi_version: str  # "2.0", "3.0.x" or "3.1.x" as the document declares it
    title: str
    operations: tuple[Operation, ...]
    # False for an OpenAPI 3.1 document without a paths object (webhooks or components only).
    has_paths: bool = True
    # What is worth knowing but does not make the spec invalid (no operation declared, ...).
    warnings: tuple[SpecIssue, ...] = ()
