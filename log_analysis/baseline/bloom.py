"""A Bloom filter: which source addresses were seen, in fixed memory whatever their number."""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass, field

DEFAULT_BITS = 1 << 23  # 1 MiB: about 1 % false positives at 870,000 addresses with 7 hashes
DEFAULT_HASHES = 7
# A filter of a site with thousands of addresses, not hundreds of thousands, is nearly all zero bytes:
# deflated it is kilobytes of baseline.json instead of 1.4 MB that every run would encode, write,
# read and decode again. Deflating a fuller filter costs more than it saves: it is kept as it is.
DEFLATE_FROM_ZERO_SHARE = 0.98


@dataclass
class BloomFilter:
    bits: int = DEFAULT_BITS
    hashes: int = DEFAULT_HASHES
    added: int = 0
    array: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        if not self.array:
            self.array = bytearray(self.bits // 8)

    def _positions(self, item: str) -> list[int]:
        digest = hashlib.blake2b(item.encode("utf-8", "replace"), digest_size=16).digest()
        first, second = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(first + i * second) % self.bits for i in range(self.hashes)]  # double hashing

    def add(self, item: str) -> None:
        if item in self:
            return
        for position in self._positions(item):
            self.array[position >> 3] |= 1 << (position & 7)
        self.added += 1

    def __contains__(self, item: str) -> bool:
        return all(self.array[p >> 3] & (1 << (p & 7)) for p in self._positions(item))

    def to_json(self) -> dict[str, object]:
        array = bytes(self.array)
        sparse = array.count(0) >= DEFLATE_FROM_ZERO_SHARE * len(array)
        return {
            "bits": self.bits,
            "hashes": self.hashes,
            "added": self.added,
            **({"encoding": "deflate"} if sparse else {}),
            "array": base64.b64encode(zlib.compress(array, 1) if sparse else array).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> BloomFilter:
        bits = int(data["bits"])  # type: ignore[arg-type]
        encoding = data.get("encoding", "raw")
        if encoding not in ("raw", "deflate"):
            raise ValueError(f"bloom filter encoding {encoding!r} is not known")
        stored = base64.b64decode(str(data["array"]))
        if encoding == "deflate":
            try:  # inflated no further than the filter's size: a damaged state must not fill the memory
                stored = zlib.decompressobj().decompress(stored, max(0, bits) // 8 + 1)
            except zlib.error as error:
                raise ValueError(f"bloom filter does not inflate: {error}") from None
        array = bytearray(stored)
        if len(array) * 8 != bits:
            raise ValueError("bloom filter size does not match its bits")
        return cls(bits, int(data["hashes"]), int(data["added"]), array)  # type: ignore[arg-type]
