"""JSON Schema compiled to JavaScript for NGINX's JavaScript module (njs 0.7.9): request checks that
run inside the gateway, from the preloaded spec.

``compile_schema`` turns one schema of an OpenAPI document (3.0's dialect or 3.1's JSON Schema
2020-12) into the source of JavaScript functions. The compiled check of an instance returns null
when it is valid, else ``[pointer, keyword]``: the JSON pointer of the first failing place in the
instance and the keyword it failed; never the value. Policy text never becomes code: every name,
value and pattern from the schema is written as an ASCII JSON literal, and function names are
numbered here. What the compiler does not check is a warning naming the schema pointer and the
keyword, never silently ignored; annotations (title, description, examples ...) are not checks.

The dialect: ECMAScript semantics, as JSON Schema specifies: patterns are ECMA-262 regular
expressions (searched, unanchored; written for njs's PCRE engine by pcre_pattern), string lengths
count code points, ``1.0`` is an integer.
OpenAPI 3.0 schemas are read as 2020-12 (``nullable`` adds ``null`` to the type, boolean
``exclusiveMinimum``/``exclusiveMaximum`` become the bound). Formats checked: FORMATS.

njs 0.7.9 is ES5 with a few later parts: no spread, no ``Array.from``, no ``u`` flag on regular
expressions, so the generated code keeps to ``var``, plain loops and ``Object.keys``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# A string format's pattern (ECMAScript and Python alike: only ASCII classes, no \d or \s), matched
# whole. date/date-time: RFC 3339's shapes with month 01-12, day 01-31, hour 00-23; the day is
# not checked against its month.
_DATE = "[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_H16 = "[0-9A-Fa-f]{1,4}"
_IPV4 = "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV6 = "|".join(
    [
        f"(?:{_H16}:){{7}}{_H16}",
        f"(?:{_H16}:){{1,7}}:",
        *(f"(?:{_H16}:){{1,{6 - n}}}(?::{_H16}){{1,{n + 1}}}" for n in range(6)),
        f":(?::{_H16}){{1,7}}",
        "::",
        f"(?:{_H16}:){{6}}{_IPV4}",
        *(f"(?:{_H16}:){{1,{5 - n}}}(?::{_H16}){{1,{n + 1}}}:{_IPV4}" for n in range(5)),
        f"(?:{_H16}:){{1,5}}:{_IPV4}",
        f"::(?:{_H16}:){{0,5}}{_IPV4}",
    ]
)
FORMATS: dict[str, str] = {
    "date": _DATE,
    "date-time": _DATE + "[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?"
    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])",
    "uuid": "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "email": '[^\\x00-\\x20@"(),:;<>\\[\\\\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
    "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+",
    "ipv4": _IPV4,
    "ipv6": _IPV6,
}
# Integer formats OpenAPI names: their ranges are checked.
INTEGER_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Formats that describe rather than constrain a value the gateway sees as JSON.
DESCRIPTIVE_FORMATS = {"float", "double", "password"}
# Keywords that say nothing about validity.
ANNOTATIONS = {
    "title", "description", "default", "example", "examples", "deprecated", "readOnly", "writeOnly", "xml",
    "externalDocs", "discriminator", "$comment", "$schema", "$id", "$anchor", "$defs", "definitions",
    "contentMediaType", "contentEncoding", "nullable",
}  # fmt: skip
CHECKED = {
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "format", "properties", "required", "additionalProperties", "minProperties",
    "maxProperties", "items", "minItems", "maxItems", "uniqueItems", "allOf", "anyOf", "oneOf", "not", "$ref",
}  # fmt: skip
# How many $refs deep one instance place may lead (a schema that refers to itself without going
# deeper into the instance would otherwise never end): past it the check fails on "$ref".
REF_DEPTH = 64
_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")
# Each type as one JavaScript test of x, written into the checks (a call per test costs njs more).
_TYPE_TESTS = {
    "null": "x === null",
    "boolean": 'typeof x === "boolean"',
    "object": '(x !== null && typeof x === "object" && !Array.isArray(x))',
    "array": "Array.isArray(x)",
    "number": 'typeof x === "number"',
    "integer": '(typeof x === "number" && Number.isInteger(x))',
    "string": 'typeof x === "string"',
}


@dataclass
class CompileWarning:
    pointer: str  # in the schema's document
    keyword: str
    message: str


@dataclass
class CompiledSchema:
    source: str  # JavaScript: helpers, constants and functions, no exports
    entry: str  # the function to call: entry(instance, "", 0)
    warnings: list[CompileWarning] = field(default_factory=list)


def js(value: Any) -> str:
    """A JSON value as a JavaScript literal: ASCII only, so no line separator or quote survives raw."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, sort_keys=True)


def normalise(schema: Any, dialect: str) -> Any:
    """One schema node (not its subschemas) read as JSON Schema 2020-12."""
    if dialect != "3.0" or not isinstance(schema, dict):
        return schema
    if "$ref" in schema:  # 3.0: a Reference Object stands for the schema; its siblings are ignored
        return {"$ref": schema["$ref"]}
    out = {k: v for k, v in schema.items() if not k.startswith("x-")}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    if out.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    out.pop("nullable", None)
    return out


def compile_schema(document: Any, pointer: str = "", dialect: str = "3.1", prefix: str = "v") -> CompiledSchema:
    """Compile the schema at ``pointer`` of ``document`` (and every local $ref it reaches).

    ``prefix`` starts every generated name, so that several compiled schemas share one module.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
        raise ValueError(f"prefix {prefix!r} is no JavaScript name")
    compiler = _Compiler(document, dialect, prefix)
    entry = compiler.function(pointer)
    return CompiledSchema("\n".join([*compiler.constants, *compiler.functions]) + "\n", entry, compiler.warnings)


# Shared by every compiled schema of a module: written once at its top.
HELPERS = """\
function gw_type(x) {
    if (x === null) { return "null"; }
    if (Array.isArray(x)) { return "array"; }
    var t = typeof x;
    if (t === "number") { return Number.isInteger(x) ? "integer" : "number"; }
    return t;
}
function gw_is(x, types) {
    var t = gw_type(x);
    for (var i = 0; i < types.length; i++) {
        if (types[i] === t || (types[i] === "number" && t === "integer")) { return true; }
    }
    return false;
}
function gw_has(x, k) { return Object.prototype.hasOwnProperty.call(x, k); }
function gw_eq(a, b) {
    if (a === b) { return true; }
    var ta = gw_type(a), tb = gw_type(b);
    if (ta === "integer") { ta = "number"; }
    if (tb === "integer") { tb = "number"; }
    if (ta !== tb || (ta !== "array" && ta !== "object")) { return false; }
    var i;
    if (ta === "array") {
        if (a.length !== b.length) { return false; }
        for (i = 0; i < a.length; i++) { if (!gw_eq(a[i], b[i])) { return false; } }
        return true;
    }
    var ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) { return false; }
    for (i = 0; i < ka.length; i++) {
        if (!gw_has(b, ka[i]) || !gw_eq(a[ka[i]], b[ka[i]])) { return false; }
    }
    return true;
}
// Text equal for exactly the values gw_eq calls equal: members sorted, 1 and 1.0 alike.
function gw_canon(x) {
    if (x === null || typeof x !== "object") { return typeof x === "string" ? JSON.stringify(x) : String(x); }
    var out = [], i;
    if (Array.isArray(x)) {
        for (i = 0; i < x.length; i++) { out.push(gw_canon(x[i])); }
        return "[" + out.join(",") + "]";
    }
    var ks = Object.keys(x).sort();
    for (i = 0; i < ks.length; i++) { out.push(JSON.stringify(ks[i]) + ":" + gw_canon(x[ks[i]])); }
    return "{" + out.join(",") + "}";
}
function gw_in(x, values) {
    // A string, number, boolean or null equals only what === says (JSON has no NaN).
    if (x === null || typeof x !== "object") { return values.indexOf(x) !== -1; }
    for (var i = 0; i < values.length; i++) { if (gw_eq(x, values[i])) { return true; } }
    return false;
}
// Called for every member checked, valid or not: escaping only when there is something to escape.
function gw_key(p, k) {
    var s = String(k);
    if (s.indexOf("~") === -1 && s.indexOf("/") === -1) { return p + "/" + s; }
    return p + "/" + s.replace(/~/g, "~0").replace(/\\//g, "~1");
}
"""


class _Compiler:
    def __init__(self, document: Any, dialect: str, prefix: str) -> None:
        self.document, self.dialect, self.prefix = document, dialect, prefix
        self.constants: list[str] = []
        self.functions: list[str] = []
        self.warnings: list[CompileWarning] = []
        self._named: dict[str, str] = {}  # schema pointer -> function name
        self._values: dict[str, str] = {}  # literal -> constant name

    def constant(self, literal: str) -> str:
        if literal not in self._values:
            self._values[literal] = name = f"{self.prefix}_c{len(self._values)}"
            self.constants.append(f"var {name} = {literal};")
        return self._values[literal]

    def regex(self, pattern: str, at: str = "") -> str | None:
        """The constant holding ``pattern`` compiled, or None (warned) when it cannot be."""
        try:
            return self.constant(regex_literal(pcre_pattern(pattern)))
        except UntranslatablePattern as problem:
            self.warn(at, "pattern", f"a pattern with {problem}: refused, the gateway cannot check it")
            return None

    def warn(self, pointer: str, keyword: str, message: str) -> None:
        self.warnings.append(CompileWarning(pointer or "/", keyword, message))

    def function(self, pointer: str) -> str:
        """The name of the function checking the schema at ``pointer`` (compiled once)."""
        if pointer in self._named:
            return self._named[pointer]
        self._named[pointer] = name = f"{self.prefix}_s{len(self._named)}"
        schema = _resolve(self.document, pointer)
        body = self.body(normalise(schema, self.dialect), pointer)
        self.functions.append(f"function {name}(x, p, d) {{\n{body}    return null;\n}}")
        return name

    def body(self, schema: Any, at: str) -> str:
        if schema is True or schema == {}:
            return ""
        if schema is False:
            return '    return [p, "false"];\n'
        if not isinstance(schema, dict):
            self.warn(at, "", "not a schema: nothing is checked here")
            return ""
        lines: list[str] = []
        for keyword in schema:
            if keyword not in CHECKED and keyword not in ANNOTATIONS and not keyword.startswith("x-"):
                self.warn(at, keyword, f"{keyword} is not checked by the gateway")
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if all(t in _TYPES for t in types):
                test = " || ".join(_TYPE_TESTS[t] for t in types)
                lines.append(f'    if (!({test})) {{ return [p, "type"]; }}')
            else:
                self.warn(at, "type", "an unknown type: not checked")
        if "enum" in schema and not isinstance(schema["enum"], list):
            self.warn(at, "enum", "not a list: not checked")
        if "enum" in schema and isinstance(schema["enum"], list):
            lines.append(f'    if (!gw_in(x, {self.constant(js(schema["enum"]))})) {{ return [p, "enum"]; }}')
        if "const" in schema:
            lines.append(f'    if (!gw_eq(x, {self.constant(js(schema["const"]))})) {{ return [p, "const"]; }}')
        lines += self._numbers(schema, at)
        lines += self._strings(schema, at)
        lines += self._objects(schema, at)
        lines += self._arrays(schema, at)
        lines += self._applicators(schema, at)
        if "$ref" in schema:
            lines += self._ref(schema["$ref"], at)
        return "".join(f"{line}\n" for line in lines)

    def _ref(self, ref: Any, at: str) -> list[str]:
        """A local JSON-pointer reference is checked; any other is refused (fail closed), and warned."""
        pointer = _ref_pointer(ref) if isinstance(ref, str) and ref.startswith("#") else None
        if pointer is not None and (pointer == "" or pointer.startswith("/")):
            try:
                _resolve(self.document, pointer)
            except KeyError:
                pointer = None
        if pointer is None or (pointer != "" and not pointer.startswith("/")):
            self.warn(
                at, "$ref", f"{ref!r} is no JSON pointer into this document: refused, the gateway cannot check it"
            )
            return ['    return [p, "$ref"];']
        return [f'    if (d >= {REF_DEPTH}) {{ return [p, "$ref"]; }}',
                f"    var r = {self.function(pointer)}(x, p, d + 1); if (r) {{ return r; }}"]  # fmt: skip

    def _numbers(self, schema: dict[str, Any], at: str) -> list[str]:
        tests = []
        for keyword, operator in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="),
                                  ("exclusiveMaximum", ">=")):  # fmt: skip
            bound = schema.get(keyword)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                tests.append(f'if (x {operator} {js(bound)}) {{ return [p, "{keyword}"]; }}')
        if "multipleOf" in schema:
            self.warn(at, "multipleOf", "multipleOf is not checked by the gateway")
        fmt = schema.get("format")
        if fmt in INTEGER_FORMATS:
            low, high = INTEGER_FORMATS[fmt]
            tests.append(f'if (x < {low} || x > {high}) {{ return [p, "format"]; }}')
        return [_guard('typeof x === "number"', tests)] if tests else []

    def _counts(self, schema: dict[str, Any], at: str, low: str, high: str, size: str) -> list[str]:
        """The tests of a lower and an upper count bound on ``size`` (a JavaScript expression)."""
        tests = []
        for keyword, operator in ((low, "<"), (high, ">")):
            bound = schema.get(keyword)
            if _count(bound, at, keyword, self):
                tests.append(f'if ({size} {operator} {int(bound)}) {{ return [p, "{keyword}"]; }}')
        return tests

    def _strings(self, schema: dict[str, Any], at: str) -> list[str]:
        tests = self._counts(schema, at, "minLength", "maxLength", "x.length")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            regex = self.regex(pattern, at)
            # Fail closed: a string the gateway cannot check against its pattern is refused.
            test = f"!{regex}.test(x)" if regex else "true"
            tests.append(f'if ({test}) {{ return [p, "pattern"]; }}')
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in FORMATS:
            tests.append(f'if (!{self.regex("^(?:" + FORMATS[fmt] + ")$")}.test(x)) {{ return [p, "format"]; }}')
        elif isinstance(fmt, str) and fmt not in INTEGER_FORMATS and fmt not in DESCRIPTIVE_FORMATS:
            self.warn(at, "format", f"format {fmt!r} is not checked by the gateway")
        return [_guard('typeof x === "string"', tests)] if tests else []

    def _objects(self, schema: dict[str, Any], at: str) -> list[str]:
        tests = self._counts(schema, at, "minProperties", "maxProperties", "Object.keys(x).length")
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = schema.get("required", [])
        if not isinstance(required, list):
            self.warn(at, "required", "not a list: not checked")
            required = []
        for name in required:
            # A readOnly property is the server's to send: required in responses only (OpenAPI).
            if isinstance(name, str) and not (
                isinstance(properties.get(name), dict) and properties[name].get("readOnly")
            ):
                tests.append(f'if (!gw_has(x, {js(name)})) {{ return [gw_key(p, {js(name)}), "required"]; }}')
        for name in properties:
            check = self.function(f"{at}/properties/{_escape(name)}")
            # The member's pointer, escaped here once: building it costs the check one concatenation.
            at_member = js("/" + _escape(name))
            tests.append(f"if (gw_has(x, {js(name)})) {{ var r = {check}(x[{js(name)}], p + {at_member}, d);"
                         " if (r) { return r; } }")  # fmt: skip
        additional = schema.get("additionalProperties", True)
        if additional is not True and additional != {}:
            if "patternProperties" in schema:
                self.warn(at, "additionalProperties", "with patternProperties: not checked")
            else:
                # Names looked up in an object, each prefixed so that none is one of Object's own.
                known = self.constant(js({"k" + name: 1 for name in sorted(properties)}))
                if additional is False:
                    inner = 'return [gw_key(p, k), "additionalProperties"];'
                else:
                    check = self.function(at + "/additionalProperties")
                    inner = f"var r = {check}(x[k], gw_key(p, k), d); if (r) {{ return r; }}"
                tests.append(f"var ks = Object.keys(x); for (var i = 0; i < ks.length; i++) {{ var k = ks[i];"
                             f" if (!gw_has({known}, \"k\" + k)) {{ {inner} }} }}")  # fmt: skip
        return [_guard(_TYPE_TESTS["object"], tests)] if tests else []

    def _arrays(self, schema: dict[str, Any], at: str) -> list[str]:
        tests = self._counts(schema, at, "minItems", "maxItems", "x.length")
        if schema.get("uniqueItems") is True:
            # By canonical text in a lookup, not pair by pair: 10,000 items stay linear.
            tests.append('var seen = {}; for (var i = 0; i < x.length; i++) { var c = "k" + gw_canon(x[i]);'
                         ' if (gw_has(seen, c)) { return [p + "/" + i, "uniqueItems"]; } seen[c] = 1; }')  # fmt: skip
        items = schema.get("items")
        if isinstance(items, (dict, bool)) and items is not True and items != {}:
            check = self.function(f"{at}/items")
            tests.append(f'for (var n = 0; n < x.length; n++) {{ var r = {check}(x[n], p + "/" + n, d);'
                         " if (r) { return r; } }")  # fmt: skip
        elif isinstance(items, list):
            self.warn(at, "items", "a list of item schemas is not checked by the gateway")
        return [_guard("Array.isArray(x)", tests)] if tests else []

    def _applicators(self, schema: dict[str, Any], at: str) -> list[str]:
        lines = []
        for index, _ in enumerate(schema.get("allOf") or []):
            lines.append(f"var r = {self.function(f'{at}/allOf/{index}')}(x, p, d); if (r) {{ return r; }}")
        any_of = [self.function(f"{at}/anyOf/{i}") for i, _ in enumerate(schema.get("anyOf") or [])]
        if any_of:
            passes = " || ".join(f"{name}(x, p, d) === null" for name in any_of)
            lines.append(f'if (!({passes})) {{ return [p, "anyOf"]; }}')
        one_of = [self.function(f"{at}/oneOf/{i}") for i, _ in enumerate(schema.get("oneOf") or [])]
        if one_of:
            passes = " + ".join(f"({name}(x, p, d) === null ? 1 : 0)" for name in one_of)
            lines.append(f'if (({passes}) !== 1) {{ return [p, "oneOf"]; }}')
        if "not" in schema:
            lines.append(f'if ({self.function(at + "/not")}(x, p, d) === null) {{ return [p, "not"]; }}')
        return [f"    {line}" for line in lines]


# ECMAScript regular expressions written for njs, whose engine is PCRE: where the two read a
# pattern differently, the ECMAScript (JSON Schema) meaning is spelled out. "$" is the very end
# (PCRE's also matches before a final newline), "." excludes the four line terminators, "\\s" is
# ECMAScript's white space, "\\v" the vertical tab, a letter escape ECMAScript does not define is
# the letter ("\\Z" is "Z"), "[]" matches nothing and "[^]" anything, "[" in a class is itself.
_END = "(?![\\s\\S])"
_WHITE = "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_ANY_BUT_LINE_END = "[^\\n\\r\\u2028\\u2029]"
_KEPT_ESCAPES = set("dDwWbBtnfr0123456789xuck")


def regex_literal(source: str) -> str:
    """A compiled pattern as JavaScript: a regular expression literal when the source is printable
    ASCII, else ``new RegExp("...")``. njs compiles a literal once, with the script, but runs a
    constructor again for every request that uses the script: a few microseconds each.

    The literal is the source with every unescaped "/" escaped, so nothing in it can end it; a
    source with other characters, empty, starting with "*" or ending in a lone backslash takes the
    constructor's string.
    """
    if source == "" or source.startswith("*"):  # "//" and "/*" would open a comment
        return f"new RegExp({js(source)})"
    out, i = [], 0
    while i < len(source):
        char = source[i]
        if not " " <= char <= "~":
            return f"new RegExp({js(source)})"
        if char == "\\":
            if i + 1 >= len(source) or not " " <= source[i + 1] <= "~":
                return f"new RegExp({js(source)})"
            out.append(source[i : i + 2])
            i += 2
            continue
        out.append("\\/" if char == "/" else char)
        i += 1
    return "/" + "".join(out) + "/"


class UntranslatablePattern(ValueError):
    """A pattern whose ECMAScript meaning this translation cannot give PCRE."""


def pcre_pattern(pattern: str) -> str:
    """``pattern`` (ECMAScript) as njs's PCRE must be given it to mean the same."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(_escape_outside(pattern[i + 1 : i + 2]))
            i += 2
        elif char == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        elif char == ".":
            out.append(_ANY_BUT_LINE_END)
            i += 1
        elif char == "$":
            out.append(_END)
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _escape_outside(char: str) -> str:
    if char == "":
        raise UntranslatablePattern("a trailing backslash")
    if char == "s":
        return f"[{_WHITE}]"
    if char == "S":
        return f"[^{_WHITE}]"
    if char == "v":
        return "\\x0b"
    if char.isalpha() and char not in _KEPT_ESCAPES:
        return char
    return "\\" + char


def _char_class(pattern: str, start: int) -> tuple[str, int]:
    """The class starting at ``start`` ("["), translated, and where it ends."""
    i = start + 1
    negated = pattern[i : i + 1] == "^"
    i += negated
    if pattern[i : i + 1] == "]":  # ECMAScript: the class ends here
        return ("[\\s\\S]" if negated else "(?!)"), i + 1
    body: list[str] = []
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped == "s":
                body.append(_WHITE)
            elif escaped == "S":
                raise UntranslatablePattern("\\S in a character class")
            elif escaped == "v":
                body.append("\\x0b")
            elif escaped.isalpha() and escaped not in _KEPT_ESCAPES:
                body.append(escaped)
            elif escaped == "":
                raise UntranslatablePattern("a trailing backslash")
            else:
                body.append("\\" + escaped)
            i += 2
        elif char == "[":
            body.append("\\[")  # PCRE would read [:alpha:] as a POSIX class
            i += 1
        else:
            body.append(char)
            i += 1
    if i >= len(pattern):
        raise UntranslatablePattern("a character class without its closing ]")
    return "[" + ("^" if negated else "") + "".join(body) + "]", i + 1


def _count(bound: Any, at: str, keyword: str, compiler: _Compiler) -> bool:
    """Whether ``bound`` is a count (2 and 2.0 alike); anything else is warned."""
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not float(bound).is_integer():
        if bound is not None:
            compiler.warn(at, keyword, f"{keyword} is not a whole number: not checked")
        return False
    return True


def _guard(condition: str, tests: list[str]) -> str:
    return f"    if ({condition}) {{\n" + "".join(f"        {test}\n" for test in tests) + "    }"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _ref_pointer(ref: str) -> str:
    from urllib.parse import unquote

    return unquote(ref[1:])


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and re.fullmatch(r"0|[1-9][0-9]*", part) and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(pointer)
    return node


# Where a schema holds subschemas: keyword -> how (one schema, a list of them, a map of them).
_SUBSCHEMAS = {
    "not": "one", "items": "one", "additionalProperties": "one", "allOf": "list", "anyOf": "list",
    "oneOf": "list", "properties": "map", "$defs": "map", "definitions": "map",
}  # fmt: skip


def normalise_tree(schema: Any, dialect: str) -> Any:
    """A schema and every subschema in it read as JSON Schema 2020-12 (what jsonschema's
    Draft202012Validator then judges as the compiled check does)."""
    node = normalise(schema, dialect)
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for keyword, kind in _SUBSCHEMAS.items():
        if keyword not in out:
            continue
        value = out[keyword]
        if kind == "one" and isinstance(value, (dict, bool)):
            out[keyword] = normalise_tree(value, dialect)
        elif kind == "list" and isinstance(value, list):
            out[keyword] = [normalise_tree(item, dialect) for item in value]
        elif kind == "map" and isinstance(value, dict):
            out[keyword] = {name: normalise_tree(item, dialect) for name, item in value.items()}
    return out
