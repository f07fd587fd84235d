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
