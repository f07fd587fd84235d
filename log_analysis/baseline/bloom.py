"""A Bloom filter: which source addresses were seen, in fixed memory whatever their number."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

DEFAULT_BITS = 1 << 23  # 1 MiB: about 1 % false positives at 870,000 addresses with 7 hashes
DEFAULT_HASHES = 7


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
        return {
            "bits": self.bits,
            "hashes": self.hashes,
            "added": self.added,
            "array": base64.b64encode(bytes(self.array)).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> BloomFilter:
        array = bytearray(base64.b64decode(str(data["array"])))
        bits = int(data["bits"])  # type: ignore[arg-type]
        if len(array) * 8 != bits:
            raise ValueError("bloom filter size does not match its bits")
        return cls(bits, int(data["hashes"]), int(data["added"]), array)  # type: ignore[arg-type]
