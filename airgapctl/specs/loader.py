"""Load an OpenAPI definition (2.0, 3.0.x, 3.1.x; one file or many) into a LoadedSpec.

Two passes over the documents: ``walk_references`` visits every object the OpenAPI grammar
says may be a ``$ref`` (so a broken or remote ref anywhere is reported, and every file the spec
uses is read and hashed), then ``_Extractor`` reads the operations the gateway needs. Both
follow a ``$ref`` even where the standard allows none (on an Operation Object, say): the
validator reports that once, and what it leads to still counts, so a path parameter declared
in the referenced file is declared.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from airgapctl.errors import BadInputError, SpecInvalidError
from airgapctl.specs.documents import DocumentError, collector_paused
from airgapctl.specs.grammar import Fragment, Walk, walk_references
from airgapctl.specs.media_types import is_json_media_type
from airgapctl.specs.model import HTTP_METHODS, LoadedSpec, Operation, Parameter, SpecIssue
from airgapctl.specs.refs import SchemaBundler, SchemaInliner, SourceFile, SpecFiles, Target, join

_METHODS = tuple(method.lower() for method in HTTP_METHODS)
_LOCATIONS = ("path", "query", "header", "cookie")
# Swagger 2.0 non-body parameters carry their schema keywords inline.
_SWAGGER_SCHEMA_KEYS = (
    "type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum", "multipleOf",
)  # fmt: skip
# Media types Swagger 2.0 implies when an operation has a body but neither it nor the spec says `consumes`.
_SWAGGER_DEFAULT_CONSUMES = {"body": "application/json", "formData": "application/x-www-form-urlencoded"}
# Swagger 2.0's collectionFormat as the 3.x style and explode that write an array the same way
# (tab-separated has no 3.x style: the gateway's own name for it).
_COLLECTION_FORMATS = {
    "csv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "tsv": ("tabDelimited", False),
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
}
# 3.x defaults: form for query and cookie values, simple for path and header ones.
_DEFAULT_STYLES = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}
NO_PATHS = "no paths: the spec declares no operation, and OpenAPI 2.0 and 3.0 require a paths object"
NO_PATHS_FIX = "add 'paths:' with the API's operations ('paths: {}' if it has none yet)"
NO_OPERATIONS = "the spec declares no operation: the gateway serves nothing from it"
NO_PATHS_31 = "the spec declares no paths (3.1 allows webhooks or components alone): the gateway serves nothing from it"
TOO_DEEP = "the definition is nested too deeply to be read (hundreds of levels)"


@dataclass
class SpecSources:
    """A spec as read: its files, grammar family, the objects reached by $ref, and what was noticed."""

    files: SpecFiles
    family: str  # "2.0", "3.0" or "3.1": which grammar and meta-schema apply
    walk: Walk  # objects reached through $ref, misplaced $refs, every Schema Object
    findings: list[SpecIssue]  # problems that do not stop loading (duplicate parameters, ...)
    spec: LoadedSpec

    @property
    def fragments(self) -> list[Fragment]:
        """Objects reached through $ref in files other than the root (or where no $ref may stand)."""
        return self.walk.fragments

    @property
    def problems(self) -> list[SpecIssue]:
        """What makes ``spec`` untrustworthy: broken references, no paths."""
        return self.files.issues


def load_spec(path: str | os.PathLike[str]) -> LoadedSpec:
    """Load a spec and every local file it references; raise SpecInvalidError listing every problem."""
    sources = read_sources(path)
    if sources.problems:
        raise invalid_spec_error(str(path), sources.problems)
    return sources.spec


def invalid_spec_error(display: str, issues: list[SpecIssue]) -> SpecInvalidError:
    count = len(issues)
    if count == 1:
        return SpecInvalidError(f"spec {display} is invalid: {issues[0]}", issues)
    return SpecInvalidError(
        f"spec {display} is invalid ({count} problems)",
        issues,
        hint=f"'airgapctl specs validate {display}' lists each as FILE:POINTER: message",
    )


def read_sources(path: str | os.PathLike[str]) -> SpecSources:
    """Read the root and every referenced file; only a root that cannot be read at all raises."""
    display = require_spec_file(path)
    with collector_paused():
        try:
            files = SpecFiles.open_root(display)
            declared, family = _version(files.root)
            walk = walk_references(files, family)
            extractor = _Extractor(files, family)
            operations = extractor.operations()
        except DocumentError as error:
            raise invalid_spec_error(display, [error.issue]) from None
        except RecursionError:  # a schema nested hundreds of levels deep, by accident or on purpose
            raise invalid_spec_error(display, [SpecIssue(display, "", TOO_DEEP, kind="document")]) from None
    spec = LoadedSpec(
        path=display,
        sha256=files.digest,
        files=tuple(f.display for f in files.files.values()),
        openapi_version=declared,
        title=_title(files.root.document),
        operations=tuple(operations),
        has_paths="paths" in files.root.document,
        warnings=tuple(extractor.warnings),
    )
    return SpecSources(files, family, walk, extractor.findings, spec)


def require_spec_file(path: str | os.PathLike[str]) -> str:
    """The path as text, or BadInputError (exit 2) naming it when there is no such file."""
    display = os.fspath(path)
    if not os.path.isfile(display):
        what = "is not a file" if os.path.exists(display) else "does not exist"
        raise BadInputError(f"spec file {display} {what}", hint="give the path of an OpenAPI YAML or JSON file")
    return display


def _version(root: SourceFile) -> tuple[str, str]:
    """The declared version and its family; anything else is not something we can read."""
    document = root.document
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}, not a mapping"
        raise invalid_spec_error(
            root.display, [SpecIssue(root.display, "", f"not an OpenAPI definition: {kind}", kind="document")]
        )
    field_name = "swagger" if "swagger" in document else "openapi"
    declared = str(document.get(field_name, ""))
    family = "2.0" if field_name == "swagger" and declared == "2.0" else None
    if field_name == "openapi":
        match = re.match(r"^3\.([01])\.\d+", declared)
        family = f"3.{match.group(1)}" if match else None
    if family is None:
        message = (
            f"unsupported OpenAPI version {declared!r}: airgapctl reads 2.0, 3.0.x and 3.1.x"
            if declared
            else "not an OpenAPI definition: no 'openapi' or 'swagger' field"
        )
        raise invalid_spec_error(
            root.display, [SpecIssue(root.display, f"/{field_name}" if declared else "", message, kind="document")]
        )
    return declared, family


def _title(document: dict[str, Any]) -> str:
    info = document.get("info")
    title = info.get("title") if isinstance(info, dict) else None
    return title if isinstance(title, str) else ""


def _media_type(text: str) -> str:
    """``Application/JSON; charset=utf-8`` -> ``application/json``."""
    return text.split(";", 1)[0].strip().lower()


@dataclass
class _Body:
    content_types: list[str] = field(default_factory=list)
    required: bool = False
    schema: dict[str, Any] | None = None
    schema_media_type: str | None = None


class _Extractor:
    """Reads the operations out of the documents, following $ref as it goes."""

    def __init__(self, files: SpecFiles, family: str) -> None:
        self.files = files
        self.family = family
        self.findings: list[SpecIssue] = []
        self.warnings: list[SpecIssue] = []
        self.schemas = SchemaInliner(files, family)
        self.bundler = SchemaBundler(files, family)

    def operations(self) -> list[Operation]:
        root = self.files.root
        if "paths" not in root.document:
            if self.family != "3.1":
                self.files.report(SpecIssue(root.display, "", NO_PATHS, kind="no-paths", fix=NO_PATHS_FIX))
            else:  # the meta-schema says whether webhooks or components are there instead
                self.warnings.append(SpecIssue(root.display, "", NO_PATHS_31, kind="no-operations"))
            return []
        paths = self.files.follow(root, "/paths", root.document["paths"])  # a $ref here is reported by the walk
        if paths is None or not isinstance(paths.node, dict):
            return []  # the meta-schema says what is wrong with it
        operations: list[Operation] = []
        unreadable = 0
        for template, item in paths.node.items():
            if not template.startswith("x-"):
                layers = self._path_item_layers(paths.source, join(paths.pointer, template), item)
                operations += self._path_item(template, layers)
                unreadable += not layers
        # Path items that could not be read are reported already; "no operation" would only add noise.
        if not operations and not unreadable:
            self.warnings.append(SpecIssue(root.display, "/paths", NO_OPERATIONS, kind="no-operations"))
        return operations

    def _path_item_layers(self, source: SourceFile, pointer: str, item: Any) -> list[Target]:
        """The path item as written and, when it has a $ref, what that leads to: the fields beside a
        Path Item's $ref count too (the standard leaves only a field given in both undefined; the
        one written beside the $ref wins)."""
        if not isinstance(item, dict):
            return []
        if "$ref" not in item:
            return [Target(source, pointer, item)]
        target = self.files.follow(source, pointer, item)
        siblings = Target(source, pointer, {k: v for k, v in item.items() if k != "$ref"})
        if target is None or not isinstance(target.node, dict):
            return [siblings] if siblings.node else []
        return [siblings, *self._path_item_layers(target.source, target.pointer, target.node)]

    def _path_item(self, template: str, layers: list[Target]) -> list[Operation]:
        holder = next((layer for layer in layers if "parameters" in layer.node), None)
        shared = {}
        if holder is not None:
            shared = self._parameters(holder.source, join(holder.pointer, "parameters"), holder.node["parameters"])
        operations = []
        for method in _METHODS:
            layer = next((layer for layer in layers if method in layer.node), None)
            if layer is None:
                continue
            # A $ref on an Operation Object is not OpenAPI, and reported; the operation still counts.
            target = self.files.follow(layer.source, join(layer.pointer, method), layer.node[method])
            if target is not None and isinstance(target.node, dict):
                operations.append(self._operation(template, method, target.source, target.pointer, target.node, shared))
        return operations

    def _operation(
        self, template: str, method: str, source: SourceFile, pointer: str, node: dict[str, Any], shared: dict
    ) -> Operation:
        own = self._parameters(source, join(pointer, "parameters"), node.get("parameters"))
        merged = {**shared, **own}  # the operation wins on the same name and location
        if self.family == "2.0":
            body = self._swagger_body(node, merged)
        else:
            body = self._request_body(source, join(pointer, "requestBody"), node.get("requestBody"))
        tags = node.get("tags")
        operation_id = node.get("operationId")
        sunset = node.get("x-sunset")
        return Operation(
            method=method.upper(),
            path=template,
            operation_id=operation_id if isinstance(operation_id, str) else None,
            tags=tuple(str(tag) for tag in tags) if isinstance(tags, list) else (),
            deprecated=node.get("deprecated") is True,
            sunset=None if sunset is None else str(sunset),
            parameters=tuple(p for p in merged.values() if isinstance(p, Parameter)),
            body_required=body.required,
            content_types=tuple(dict.fromkeys(body.content_types)),
            file=source.display,
            pointer=pointer,
            body_schema=body.schema,
            body_schema_media_type=body.schema_media_type,
        )

    def _parameters(self, source: SourceFile, pointer: str, nodes: Any) -> dict[tuple[str, str], Any]:
        """Parameters by (name, in); Swagger body/formData ones stay raw for _swagger_body."""
        found: dict[tuple[str, str], Any] = {}
        if isinstance(nodes, dict) and "$ref" in nodes:  # a $ref for the whole list: reported by the walk
            target = self.files.follow(source, pointer, nodes)
            if target is None:
                return found
            source, pointer, nodes = target.source, target.pointer, target.node
        for index, node in enumerate(nodes if isinstance(nodes, list) else ()):
            target = self.files.follow(source, join(pointer, index), node)
            if target is None or not isinstance(target.node, dict):
                continue
            name, location = target.node.get("name"), target.node.get("in")
            if not isinstance(name, str) or not isinstance(location, str):
                continue  # the meta-schema reports it
            if (name, location) in found:
                message = f"duplicate parameter '{name}' in {location}"
                fix = "remove one of them; a parameter is known by its name and location"
                self.findings.append(SpecIssue(source.display, join(pointer, index), message, "duplicate", fix))
            found[(name, location)] = self._parameter(target.source, target.pointer, target.node)
        return found

    def _parameter(self, source: SourceFile, pointer: str, node: dict[str, Any]) -> Parameter | dict[str, Any]:
        location = node["in"]
        if location not in _LOCATIONS:
            return node  # Swagger body or formData: a request body, not a parameter
        if self.family == "2.0" and location != "body":
            schema = {key: node[key] for key in _SWAGGER_SCHEMA_KEYS if key in node}
        elif "schema" in node:
            schema = self.schemas.inline(source, join(pointer, "schema"), node["schema"])
        else:  # 3.x `content`: one media type whose schema describes the value
            schema = self._content_schema(source, join(pointer, "content"), node.get("content"))
        required = node.get("required") is True or location == "path"
        if self.family == "2.0":
            style, explode = _COLLECTION_FORMATS.get(str(node.get("collectionFormat", "csv")), ("form", False))
        else:
            style = node.get("style") if isinstance(node.get("style"), str) else _DEFAULT_STYLES[location]
            explode = node["explode"] if isinstance(node.get("explode"), bool) else style == "form"
        return Parameter(node["name"], location, required, schema if isinstance(schema, dict) else {}, style, explode)

    def _content_schema(self, source: SourceFile, pointer: str, content: Any) -> Any:
        media_type, media = next(iter(content.items()), (None, None)) if isinstance(content, dict) else (None, None)
        if not isinstance(media, dict) or "schema" not in media:
            return {}
        return self.schemas.inline(source, join(pointer, media_type, "schema"), media["schema"])

    def _request_body(self, source: SourceFile, pointer: str, node: Any) -> _Body:
        target = self.files.follow(source, pointer, node) if node is not None else None
        if target is None or not isinstance(target.node, dict):
            return _Body()
        content = target.node.get("content")
        types = [_media_type(key) for key in content] if isinstance(content, dict) else []
        body = _Body(types, target.node.get("required") is True)
        # The JSON media type's schema: application/json's if listed, else the first +json one's.
        json_types = sorted(
            (key for key in content if is_json_media_type(_media_type(key))) if isinstance(content, dict) else (),
            key=lambda key: _media_type(key) != "application/json",
        )
        for key in json_types:
            media = content[key]
            if isinstance(media, dict) and "schema" in media:
                at = join(target.pointer, "content", key, "schema")
                body.schema = self.bundler.bundle(target.source, at, media["schema"])
                body.schema_media_type = _media_type(key)
                break
        return body

    def _swagger_body(self, operation: dict[str, Any], parameters: dict[tuple[str, str], Any]) -> _Body:
        body = [p for p in parameters.values() if isinstance(p, dict)]
        if not body:
            return _Body()
        consumes = operation.get("consumes", self.files.root.document.get("consumes"))
        if isinstance(consumes, list) and consumes:
            types = [_media_type(str(item)) for item in consumes]
        else:
            types = [_SWAGGER_DEFAULT_CONSUMES.get(p["in"], "application/json") for p in body]
        found = _Body(types, any(p.get("required") is True for p in body))
        schema_param = next((p for p in body if p.get("in") == "body" and "schema" in p), None)
        json_type = next((t for t in types if is_json_media_type(t)), None)
        if schema_param is not None and json_type is not None:
            # Swagger keeps no pointer for a body parameter here: its schema is bundled from the root.
            found.schema = self.bundler.bundle(self.files.root, "", schema_param["schema"])
            found.schema_media_type = json_type
        return found
