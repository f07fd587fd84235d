"""What a loaded OpenAPI definition is, whatever its version (2.0, 3.0, 3.1).

The loader produces these; the policy compiler reads only these, never the raw document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one place: printed as ``FILE:POINTER: MESSAGE``."""

    file: str
    pointer: str  # JSON pointer inside that file, "" for the whole document
    message: str

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


@dataclass(frozen=True)
class LoadedSpec:
    path: str  # the root file as given
    sha256: str  # digest over the root file and every file it references, in a fixed order
    files: tuple[str, ...]  # every file read, root first
    openapi_version: str  # "2.0", "3.0.x" or "3.1.x" as the document declares it
    title: str
    operations: tuple[Operation, ...]
