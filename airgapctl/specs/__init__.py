"""OpenAPI definitions: load and validate them offline, compile them with the access policy."""
