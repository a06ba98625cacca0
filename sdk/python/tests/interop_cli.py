"""The Python side of the cross-language round trips
(test/interop/matrix.test.ts): one cache operation through the Python SDK.

    python3 sdk/python/tests/interop_cli.py set-order    <url> <namespace> <key>
    python3 sdk/python/tests/interop_cli.py expect-order <url> <namespace> <key>

set-order writes the canonical Order; expect-order reads the key into an
Order and exits 1 unless it equals the canonical one.
"""

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import larder  # noqa: E402


@dataclass
class Customer:
    name: str
    email: str


@dataclass
class Item:
    sku: str
    qty: int
    price: float


@dataclass
class Order:
    id: str
    customer: Customer
    items: List[Item]
    total: float
    paid: bool
    tags: List[str]

    @staticmethod
    def from_json(d: dict) -> "Order":
        # Exact keys only: an extra or missing field means the shapes drifted.
        return Order(**{**d, "customer": Customer(**d["customer"]), "items": [Item(**i) for i in d["items"]]})


CANONICAL = Order(id="order-7", customer=Customer(name="Ada Lovelace", email="ada@example.com"),
                  items=[Item(sku="A-1", qty=2, price=9.75)], total=19.5, paid=True, tags=["vip", "ü😀"])


def main(argv: List[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    command, url, namespace, key = argv
    with larder.Cache(url=url, namespace=namespace) as cache:
        if command == "set-order":
            cache.set(key, dataclasses.asdict(CANONICAL), ttl=60)
            return 0
        if command == "expect-order":
            raw = cache.get(key)
            got = None if raw is None else Order.from_json(raw)
            if got != CANONICAL:
                print(f"got  {got}\nwant {CANONICAL}", file=sys.stderr)
                return 1
            return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
