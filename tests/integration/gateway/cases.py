"""Requests of test_gateway_nginx.py, by check: what is sent and what the gateway must make of it."""

from __future__ import annotations

from collections.abc import Iterator

# 400 non_canonical_path. The last three NGINX's own parser refuses; its 400 gets the same answer.
NON_CANONICAL = [
    "/api/pets/1%2F..%2Fadmin",
    "/api/pets/1%2f..%2fadmin",
    "/api//pets",
    "//api/pets",
    "/api/./pets",
    "/api/pets/.",
    "/api/pets/..",
    "/api/x/../pets",
    "/api/pets;jsessionid=abc",
    "/api/pets/1;x=1",
    "/api/pets/%2e%2e/admin",
    "/api/pets/%2E%2E",
    "/api/pets/1%5Cadmin",
    "/api/pets\\1",
    "/api/%70ets",
    "/api/pets/1%0a",
    "/api/pets/1#x",
    "/api/pets/1%00",
    "/api/../../etc/passwd",
    "/api/pets/1%",
]

# 404 unknown_path: no operation, a parameter value its regex refuses, wrong case, internal URIs.
UNKNOWN_PATHS = [
    "/api/nope",
    "/API/pets",
    "/nope",
    "/api/pets/12/photo/x",
    "/_airgap_gateway/op/1",
    "/_airgap_gateway/error/too-large",
]

JSON = {"Content-Type": "application/json"}


def chunks(total: int) -> Iterator[bytes]:
    """A chunked body: http.client sends each piece as one chunk."""
    for _ in range(total // 100):
        yield b"x" * 100


# (method, target, request keyword arguments, operation): 413 body_too_large.
OVERSIZE_BODIES = [
    ("GET", "/api/pets", {"body": b"x", "headers": JSON}, "petstore.listPets"),
    ("GET", "/api/pets", {"body": list(chunks(2000)), "headers": JSON, "chunked": True}, "petstore.listPets"),
    ("DELETE", "/api/pets/4", {"body": b"{}", "headers": JSON}, "petstore.deletePet"),
    ("POST", "/api/pets", {"body": b"x" * 1025, "headers": JSON}, "petstore.createPet"),
    ("POST", "/api/pets", {"body": list(chunks(2000)), "headers": JSON, "chunked": True}, "petstore.createPet"),
]

# (method, target, content type, operation): 415 unsupported_media_type.
UNLISTED_MEDIA_TYPES = [
    ("POST", "/api/pets", "text/plain", "petstore.createPet"),
    ("POST", "/api/pets", None, "petstore.createPet"),
    ("POST", "/api/pets", "application/jsonx", "petstore.createPet"),
    ("POST", "/api/notes", "text/plain", "petstore.postNote"),
    ("PUT", "/api/pets/3/photo", "application/json", "petstore.putPhoto"),
]

# (method, target, content type, upstream path, operation): served.
LISTED_MEDIA_TYPES = [
    ("POST", "/api/pets", "Application/JSON; charset=utf-8", "/v1/pets", "petstore.createPet"),
    ("POST", "/api/notes", "application/xml", "/v1/notes", "petstore.postNote"),
    ("PUT", "/api/pets/3/photo", "image/png", "/v1/pets/3/photo", "petstore.putPhoto"),
]

# Raw paths the rendered gateway and the reference router (specs/routing.py) must decide alike:
# encoded and doubled slashes, dot segments plain and encoded, ';' parameters, trailing dots,
# percent-encodings of every kind and case, and canonical neighbours of each.
RAW_PATH_PROBES = [
    *NON_CANONICAL,
    "/api/pets/%41",
    "/api/pets/%6d%69%6e%65",
    "/api/pets/%6D%69%6E%65",
    "/api/pets/%31",
    "/api/pets/1%2F",
    "/api/pets/%2e",
    "/api/pets/%2E%2e/admin",
    "/api/pets/..%2F",
    "/api/pets//",
    "/api/pets/./",
    "/api/pets/1;",
    "/api/pets/mine;jsessionid=a",
    "/api/pets/1.",
    "/api/pets/mine.",
    "/api/pets/1..",
    "/api/pets/...",
    "/api/pets/1~",
    "/api/pets/1%7e",
    "/api/pets/1%7F",
    "/api/pets/1%0A",
    "/api/pets/1%5c",
    "/api/pets/1%20",
    "/api/pets/1%3F",
    "/api/pets/1%3fx",
    "/api/pets/1%23x",
    "/api/pets%3Bx",
    "/api/pets/1%25",
    "/api/pets/1%2",
    "/api/pets/1%zz",
    "/api/pets/%C3%A9",
    "/api/pets/%c3%a9",
    "/api/pets/%FF",
    "/api/pets/",
    "/api/pets/1",
    "/api/pets/mine",
    "/api/pets/1?x=%zz;..//",
    "/api/pets?a=/../",
    "/inv/items",
    "/inv//items",
    "/inv/items/.",
]
