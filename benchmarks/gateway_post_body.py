"""The JSON body schema and bodies of benchmarks/gateway_overhead.py's POST workload.

An order, shaped like a real API's create request (OpenAPI 3.0 dialect): 20 properties, a nested
customer object with additionalProperties false, arrays of $ref'd line items and of strings,
date, date-time, uuid, email and ipv4 formats, enums, a oneOf on the payment, a nullable note and
a free-form map; ``#/defs/address`` and ``#/defs/line`` are what its $refs name. VALID_ORDER is a
body of about 1 KB that passes it; INVALID_ORDER differs in one place deep in the body (the last
line item's quantity below its minimum), so the check walks most of the body before it fails.
"""

from __future__ import annotations

import copy
import json
from typing import Any

ADDRESS = {
    "type": "object",
    "required": ["street", "city", "postal_code", "country"],
    "additionalProperties": False,
    "properties": {
        "street": {"type": "string", "minLength": 1, "maxLength": 100},
        "city": {"type": "string", "minLength": 1, "maxLength": 60},
        "postal_code": {"type": "string", "pattern": "^[A-Z0-9 -]{3,10}$"},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
    },
}
LINE = {
    "type": "object",
    "required": ["sku", "quantity", "unit_price"],
    "additionalProperties": False,
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,8}$"},
        "description": {"type": "string", "maxLength": 200},
        "quantity": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 1000},
        "unit_price": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "discount": {"type": "number", "minimum": 0, "maximum": 1},
    },
}
DEFS: dict[str, Any] = {"address": ADDRESS, "line": LINE}
ORDER = {
    "type": "object",
    "required": ["order_id", "created", "status", "currency", "customer", "items", "payment"],
    "additionalProperties": False,
    "properties": {
        "order_id": {"type": "string", "format": "uuid"},
        "created": {"type": "string", "format": "date-time"},
        "delivery_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["pending", "paid", "shipped", "cancelled"]},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP", "CHF"]},
        "total": {"type": "number", "minimum": 0},
        "customer": {
            "type": "object",
            "required": ["id", "name", "email"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "format": "int64", "minimum": 1},
                "name": {"type": "string", "pattern": "^[A-Za-z .'-]+$", "minLength": 1, "maxLength": 80},
                "email": {"type": "string", "format": "email"},
                "phone": {"type": "string", "pattern": "^\\+[0-9]{7,15}$"},
                "billing": {"$ref": "#/defs/address"},
            },
        },
        "shipping": {"$ref": "#/defs/address"},
        "items": {"type": "array", "items": {"$ref": "#/defs/line"}, "minItems": 1, "maxItems": 50},
        "tags": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 20},
            "maxItems": 10,
            "uniqueItems": True,
        },
        "note": {"type": "string", "nullable": True, "maxLength": 500},
        "gift": {"type": "boolean"},
        "coupon": {"type": "string", "pattern": "^[A-Z0-9]{6,12}$"},
        "source_ip": {"type": "string", "format": "ipv4"},
        "channel": {"type": "string", "enum": ["web", "mobile", "api", "store"]},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 10},
        "payment": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["method", "last4"],
                    "properties": {"method": {"enum": ["card"]}, "last4": {"type": "string", "pattern": "^[0-9]{4}$"}},
                },
                {
                    "type": "object",
                    "required": ["method", "iban"],
                    "properties": {
                        "method": {"enum": ["transfer"]},
                        "iban": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$"},
                    },
                },
            ]
        },
        "weight_kg": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "schema_version": {"type": "integer", "enum": [1, 2]},
    },
}
VALID_ORDER: dict[str, Any] = {
    "order_id": "123e4567-e89b-12d3-a456-426614174000",
    "created": "2026-03-14T09:26:53.589Z",
    "delivery_date": "2026-03-20",
    "status": "paid",
    "priority": 3,
    "currency": "EUR",
    "total": 412.85,
    "customer": {
        "id": 9007199254,
        "name": "Ada Lovelace",
        "email": "ada.lovelace@analytical.example",
        "phone": "+441234567890",
        "billing": {"street": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
    },
    "shipping": {"street": "Hauptstrasse 221", "city": "Heidelberg", "postal_code": "69117", "country": "DE"},
    "items": [
        {"sku": "ENG-1001", "description": "Gear set", "quantity": 2, "unit_price": 99.5},
        {"sku": "ENG-1002", "description": "Punched cards", "quantity": 4, "unit_price": 12.25},
        {"sku": "ENG-2040", "description": "Brass crank handle", "quantity": 1, "unit_price": 64.0, "discount": 0.1},
        {"sku": "BOK-33120", "quantity": 3, "unit_price": 29.95},
    ],
    "tags": ["priority", "gift-wrap", "eu-shipping"],
    "note": "Fragile, keep upright.",
    "gift": True,
    "coupon": "SPRING2026",
    "source_ip": "192.0.2.44",
    "channel": "web",
    "metadata": {"campaign": "spring-sale", "referrer": "newsletter"},
    "payment": {"method": "card", "last4": "4242"},
    "weight_kg": 3.75,
    "schema_version": 2,
}


def invalid_order() -> dict[str, Any]:
    order = copy.deepcopy(VALID_ORDER)
    order["items"][-1]["quantity"] = 0
    return order


def encode(document: Any) -> bytes:
    """Compact JSON, as a client library sends it."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
