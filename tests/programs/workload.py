"""workload.py: a deterministic Python workload for the transparency tests:
json, re, hashlib, classes with inheritance and properties, generators,
exceptions (raised, chained, caught across frames), sorting and string
formatting. Prints results only (no times, addresses or hash-randomised
orders), and exits with status 3 after writing one line to stderr."""

import hashlib
import json
import re
import sys
from collections import Counter, OrderedDict


class Shape:
    registry = []

    def __init__(self, name):
        self.name = name
        Shape.registry.append(self)

    @property
    def area(self):
        raise NotImplementedError(self.name)

    def describe(self):
        return f"{self.name}: {self.area:.3f}"


class Rect(Shape):
    def __init__(self, w, h):
        super().__init__(f"rect {w}x{h}")
        self.w, self.h = w, h

    @property
    def area(self):
        return self.w * self.h


class Circle(Shape):
    def __init__(self, r):
        super().__init__(f"circle {r}")
        self.r = r

    @property
    def area(self):
        return 3.141592653589793 * self.r * self.r


class ValidationError(Exception):
    def __init__(self, field, value):
        super().__init__(f"bad {field}: {value!r}")
        self.field = field


def parse_record(text):
    record = json.loads(text)
    if record["age"] < 0:
        raise ValidationError("age", record["age"])
    return record


def deep(n):
    if n == 0:
        raise KeyError("bottom")
    return deep(n - 1) + 1


def primes(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return (i for i, flag in enumerate(sieve) if flag)


def main():
    shapes = [Rect(w, w + 1) for w in range(1, 30)] + [Circle(r / 2) for r in range(1, 30)]
    print(len(Shape.registry), sum(s.area for s in shapes))
    for s in sorted(shapes, key=lambda s: (-s.area, s.name))[:5]:
        print(s.describe())
    try:
        Shape("abstract").area
    except NotImplementedError as e:
        print("abstract:", e)

    records = [
        json.dumps({"id": i, "name": f"user{i:04d}", "age": (i * 37) % 90 - 5, "tags": ["x"] * (i % 4)})
        for i in range(3000)
    ]
    good, bad = [], Counter()
    for text in records:
        try:
            good.append(parse_record(text))
        except ValidationError as e:
            bad[e.field] += 1
    print("records", len(good), dict(bad))
    blob = json.dumps(good, sort_keys=True, indent=1)
    print("json bytes", len(blob), "sha256", hashlib.sha256(blob.encode()).hexdigest())
    again = json.loads(blob)
    print("round trip", again == good)

    text = " ".join(f"{r['name']}@example{r['id'] % 7}.org age={r['age']}" for r in good)
    emails = re.findall(r"\b(user\d+)@(example\d)\.org\b", text)
    domains = Counter(d for _, d in emails)
    print("emails", len(emails), sorted(domains.items()))
    print("sub", re.sub(r"age=(\d)(\d)", r"age=\2\1", text)[:80])
    pattern = re.compile(r"(?P<user>user0*(?P<num>\d+))@")
    print("named groups", sum(int(m.group("num")) for m in pattern.finditer(text)))

    digest = hashlib.md5()
    for i in range(20000):
        digest.update(str(i).encode())
    print("md5", digest.hexdigest())
    print("blake2b", hashlib.blake2b(b"hbgrind" * 1000, digest_size=16).hexdigest())
    print("sha512", hashlib.sha512(bytes(range(256)) * 100).hexdigest()[:32])

    ps = list(primes(200000))
    print("primes", len(ps), ps[-3:], sum(ps) % 1000003)

    try:
        try:
            deep(200)
        except KeyError as e:
            raise RuntimeError("wrapped") from e
    except RuntimeError as e:
        print("chained:", e, "<-", repr(e.__cause__))

    od = OrderedDict((str(i), i * i) for i in range(10))
    od.move_to_end("3")
    print("ordered", list(od)[:4], list(od)[-1])
    words = re.findall(r"[a-z]+", __doc__.lower())
    print("doc words", len(words), Counter(words).most_common(3))
    print("done", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
