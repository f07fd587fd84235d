"""Which request media types are JSON: the bodies whose schema the gateway checks."""

from __future__ import annotations

import re

# application/json and the structured-syntax +json types (RFC 6839), lower case, parameters
# stripped. The gateway's JavaScript applies the same pattern to a request's Content-Type.
JSON_MEDIA_TYPE = r"^application/(?:[^;/\s]+\+)?json$"


def is_json_media_type(media_type: str) -> bool:
    return re.fullmatch(JSON_MEDIA_TYPE, media_type) is not None
