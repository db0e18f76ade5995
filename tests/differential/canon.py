"""Random components that move values of random types across a component
boundary, for the differential test of the canonical ABI (CanonicalABI.md:
"Flattening", "Loading", "Storing", "Lifting and Lowering Values", and the
string transcodings).

A case is a type T (records, tuples, variants, enums, options, results,
flags, lists, strings, chars, bools, integers and floats, and in three
cases of ten handles of a resource `r` that `$A` defines, nested to depth
three), up to two more parameter types (which may also borrow `r`), and
values of them. Component `$A`
exports `get: func() -> T`, whose core function hands over a value as it
is stored in `$A`'s memory (or as its one flat value), and `put: func(p0:
T, ...) -> u64`, whose core function returns a hash of its flat parameters
(or of the pointer to them, past 16 flat values) and of what the adapter
allocated in `$A`'s memory. Its sibling `$B` imports both and lowers them
into its own core module, with its own memory and string encoding, so that
every call goes through the adapter between two components that a
compiler generates (lift out of one memory, check, transcode, lower into
the other with its `realloc`). `$B`'s exports `get` and `put`, each
`func() -> u64`, make the calls: `get` returns a hash of the result as
lowered into `$B`'s memory and of what the lowering allocated, `put`
passes values stored in `$B`'s memory and returns `$A`'s hash. The outer
component re-exports them. A handle is made where the value holds one,
when the core function runs: with `resource.new` in `$A`, by calling
`$A`'s `make: func(rep: u32) -> own<r>` in `$B`; the hashes see the
handles' indices, and a borrow that reaches `$A` is its representation.

In a third of the calls, one place of the value is corrupted where the
callee or the caller stores it: a discriminant, a char, a bool, flags'
unused bits, a string's pointer, length, Latin-1 tag or one of its bytes
or code units, a list's pointer or length, an integer's unused high bits,
a handle's index. Lifting the value then traps or reads something else,
as the specification says; the two engines must agree on which. Floats
are never NaN (the specification lets a NaN's bits change across the
boundary) and are never corrupted. Some strings and lists of numbers are
long (up to 70,000 elements), and half the memories end right after
where the allocations begin, so that lowering grows the memory (75 of
the 1,000 calls of seeds 0-499).

    case(seed) -> Case    the component of `seed` (`Case.fields`: the
                          component's fields in the text format) and its
                          description
"""

import random

# The types: ("bool",), ("u8",), ..., ("string",), ("list", T),
# ("record", [(name, T)]), ("tuple", [T]), ("variant", [(name, T or None)]),
# ("enum", [name]), ("option", T), ("result", T or None, T or None),
# ("flags", [name]).
INTS = {"u8": (1, False), "s8": (1, True), "u16": (2, False), "s16": (2, True),
        "u32": (4, False), "s32": (4, True), "u64": (8, False), "s64": (8, True)}
PRIMITIVES = ["bool", "char", "f32", "f64", "string", *INTS]
ENCODINGS = ["utf8", "utf16", "latin1+utf16"]
NUMBERS = {"bool", "char", "f32", "f64", *INTS}
# The size and alignment in bytes of the types whose layout is fixed.
FIXED = {"bool": (1, 1), "char": (4, 4), "f32": (4, 4), "f64": (8, 8),
         "string": (8, 4), "list": (8, 4), "own": (4, 4), "borrow": (4, 4),
         **{kind: (width, width) for kind, (width, _) in INTS.items()}}
MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1
# Where the outer component's result area and data begin, and where
# `$A`'s data begins, in bytes.
RET_B = 16
DATA = 1024
FNV_OFFSET = 0xCBF29CE484222325
PAGE = 65536


def cases_of(t) -> list:
    """The cases of a variant-like type, as (name, payload or None)."""
    kind = t[0]
    if kind == "variant":
        return t[1]
    if kind == "enum":
        return [(n, None) for n in t[1]]
    if kind == "option":
        return [("none", None), ("some", t[1])]
    if kind == "result":
        return [("ok", t[1]), ("err", t[2])]
    raise ValueError(kind)


def fields_of(t) -> list:
    """The field types of a record-like type."""
    return [f for _, f in t[1]] if t[0] == "record" else list(t[1])


def discriminant_size(n: int) -> int:
    return 1 if n <= 256 else 2 if n <= 65536 else 4


def align_to(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def alignment(t) -> int:
    kind = t[0]
    if kind in FIXED:
        return FIXED[kind][1]
    if kind in ("record", "tuple"):
        return max([1, *(alignment(f) for f in fields_of(t))])
    if kind == "flags":
        return flags_size(len(t[1]))
    cases = cases_of(t)
    return max(discriminant_size(len(cases)), max_case_alignment(cases))


def max_case_alignment(cases) -> int:
    return max([1, *(alignment(p) for _, p in cases if p is not None)])


def flags_size(n: int) -> int:
    return 1 if n <= 8 else 2 if n <= 16 else 4


def size(t) -> int:
    kind = t[0]
    if kind in FIXED:
        return FIXED[kind][0]
    if kind in ("record", "tuple"):
        s = 0
        for f in fields_of(t):
            s = align_to(s, alignment(f)) + size(f)
        return align_to(s, alignment(t))
    if kind == "flags":
        return flags_size(len(t[1]))
    s = payload_offset(t) + max([0, *(size(p) for _, p in cases_of(t) if p is not None)])
    return align_to(s, alignment(t))


def payload_offset(t) -> int:
    cases = cases_of(t)
    return align_to(discriminant_size(len(cases)), max_case_alignment(cases))


def join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


def flatten(t) -> list[str]:
    kind = t[0]
    if kind in ("u64", "s64"):
        return ["i64"]
    if kind in INTS or kind in ("bool", "char", "flags", "own", "borrow"):
        return ["i32"]
    if kind in ("f32", "f64"):
        return [kind]
    if kind in ("string", "list"):
        return ["i32", "i32"]
    if kind in ("record", "tuple"):
        return [c for f in fields_of(t) for c in flatten(f)]
    flat: list[str] = []
    for _, p in cases_of(t):
        if p is None:
            continue
        for i, c in enumerate(flatten(p)):
            if i < len(flat):
                flat[i] = join(flat[i], c)
            else:
                flat.append(c)
    return ["i32", *flat]


def type_text(t, names: dict) -> str:
    """`t` as a component value type: a primitive's name, the exported
    name of a record, variant, enum or flags type, or an inline list,
    tuple, option or result."""
    kind = t[0]
    if kind in PRIMITIVES:
        return kind
    if kind in ("own", "borrow"):
        return f"({kind} $r)"
    if kind in ("record", "variant", "enum", "flags"):
        return names[t]
    if kind == "list":
        return f"(list {type_text(t[1], names)})"
    if kind == "tuple":
        return "(tuple " + " ".join(type_text(f, names) for f in t[1]) + ")"
    if kind == "option":
        return f"(option {type_text(t[1], names)})"
    ok = "" if t[1] is None else " " + type_text(t[1], names)
    err = "" if t[2] is None else f" (error {type_text(t[2], names)})"
    return f"(result{ok}{err})"


def definition_text(t, names: dict) -> str:
    kind = t[0]
    if kind == "record":
        return "(record " + " ".join(f'(field "{n}" {type_text(f, names)})'
                                     for n, f in t[1]) + ")"
    if kind == "variant":
        return "(variant " + " ".join(
            f'(case "{n}")' if p is None else f'(case "{n}" {type_text(p, names)})'
            for n, p in t[1]) + ")"
    return f"({kind} " + " ".join(f'"{n}"' for n in t[1]) + ")"


def named_types(t, out: list) -> None:
    """Appends the record, variant, enum and flags types in `t`, each after
    the ones it uses (an export's type may only use exported types)."""
    kind = t[0]
    if kind in ("list", "option"):
        named_types(t[1], out)
    elif kind == "result":
        for p in t[1:]:
            if p is not None:
                named_types(p, out)
    elif kind in ("record", "tuple"):
        for f in fields_of(t):
            named_types(f, out)
    elif kind == "variant":
        for _, p in t[1]:
            if p is not None:
                named_types(p, out)
    if kind in ("record", "variant", "enum", "flags") and t not in out:
        out.append(t)


class Gen:
    """The random choices of one case."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.label = 0
        # Whether this case's types hold handles of `$A`'s resource `r`.
        self.resources = self.rng.random() < 0.3

    def name(self) -> str:
        self.label += 1
        return f"l{self.label}"

    def type(self, depth: int, borrow: bool = False):
        """A type of nesting `depth` at most; with `borrow`, it may hold
        borrowed handles (a parameter's type, not a result's)."""
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            if self.resources and rng.random() < 0.4:
                return ("borrow",) if borrow and rng.random() < 0.4 else ("own",)
            # Strings take the most of an adapter: a quarter of the leaves.
            return ("string",) if rng.random() < 0.25 else (rng.choice(PRIMITIVES),)
        kind = rng.choice(["list", "record", "tuple", "variant", "enum", "option",
                           "result", "flags", "record", "variant"])
        if kind == "list":
            return ("list", self.type(depth - 1, borrow))
        if kind == "option":
            return ("option", self.type(depth - 1, borrow))
        if kind == "result":
            return ("result", *(self.type(depth - 1, borrow) if rng.random() < 0.7 else None
                                for _ in range(2)))
        if kind == "record":
            return ("record", tuple((self.name(), self.type(depth - 1, borrow))
                                    for _ in range(rng.randint(1, 4))))
        if kind == "tuple":
            return ("tuple", tuple(self.type(depth - 1, borrow) for _ in range(rng.randint(1, 4))))
        if kind == "variant":
            return ("variant", tuple((self.name(), self.type(depth - 1, borrow)
                                      if rng.random() < 0.7 else None)
                                     for _ in range(rng.randint(1, 5))))
        count = rng.choice([1, 2, 3, 8, 9, 16, 17, 32])
        labels = tuple(self.name() for _ in range(count))
        # An enum of more than 256 cases has a two-byte discriminant.
        if kind == "enum" and rng.random() < 0.1:
            labels = tuple(self.name() for _ in range(rng.choice([256, 257])))
        return (kind, labels)

    def string(self) -> str:
        rng = self.rng
        alphabet = rng.choice(["ascii", "latin1", "bmp", "astral"])
        chars = []
        count = rng.choice([0, 1, 2, 5, 9])
        # Now and then a long one, and rarely one whose transcoding makes
        # `realloc` grow the memory (and move it, where it moves).
        chance = rng.random()
        if chance < 0.05:
            count = rng.randint(100, 3000)
        elif chance < 0.06:
            count = rng.randint(20000, 40000)
        for _ in range(count):
            if alphabet == "ascii" or rng.random() < 0.4:
                chars.append(chr(rng.randint(0x20, 0x7E)))
            elif alphabet == "latin1":
                chars.append(chr(rng.randint(0x80, 0xFF)))
            elif alphabet == "bmp":
                chars.append(chr(rng.choice([0x100, 0x3B1, 0x7FF, 0x800, 0x4E2D, 0xFFFD])))
            else:
                chars.append(chr(rng.choice([0x10000, 0x1F600, 0x10FFFF])))
        return "".join(chars)

    def value(self, t):
        rng = self.rng
        kind = t[0]
        if kind in INTS:
            width, signed = INTS[kind]
            bits = 8 * width
            v = rng.choice([0, 1, (1 << bits) - 1, 1 << (bits - 1), rng.getrandbits(bits)])
            return v - (1 << bits) if signed and v >= 1 << (bits - 1) else v
        if kind == "bool":
            return rng.random() < 0.5
        if kind in ("own", "borrow"):
            # The resource's representation.
            return rng.randrange(1 << 32)
        if kind == "char":
            return chr(rng.choice([0, 0x41, 0xE9, 0xD7FF, 0xE000, 0x10FFFF, 0x1F600]))
        if kind == "f32":
            return rng.choice([0, 0x80000000, 0x3F800000, 0x7F800000, 0xFF800000, 1,
                               0x7F7FFFFF, rng.getrandbits(22) | 0x40000000])
        if kind == "f64":
            return rng.choice([0, 1 << 63, 0x3FF0000000000000, 0x7FF0000000000000, 1,
                               rng.getrandbits(51) | 0x4000000000000000])
        if kind == "string":
            return self.string()
        if kind == "list":
            count = rng.choice([0, 1, 2, 3])
            if t[1][0] in NUMBERS and rng.random() < 0.1:
                count = rng.choice([rng.randint(50, 3000), rng.randint(20000, 70000)])
            return [self.value(t[1]) for _ in range(count)]
        if kind in ("record", "tuple"):
            return [self.value(f) for f in fields_of(t)]
        if kind == "flags":
            return rng.getrandbits(len(t[1]))
        cases = cases_of(t)
        i = rng.randrange(len(cases))
        p = cases[i][1]
        return (i, None if p is None else self.value(p))


class Memory:
    """The bytes a component's data segment holds at `DATA`.., values
    stored in them as the canonical ABI stores them in `encoding`, and the
    corruption of the `corrupt`th place that lifting checks (None: none)."""

    def __init__(self, encoding: str, corrupt: int | None, rng: random.Random,
                 handles: str):
        self.encoding = encoding
        # A handle is made when the core function runs, by calling
        # `handles` (`$new`: `resource.new`; `$make`: `$A`'s `make`) with
        # the representation: stored at an address (`inits`), or as a
        # flat value, ("handle", rep).
        self.handles = handles
        self.inits: list[tuple[int, int]] = []
        self.bytes = bytearray()
        self.corrupt = corrupt
        self.sites: list[str] = []
        self.rng = rng
        self.what = None

    def site(self, what: str) -> bool:
        """Whether this place is the one to corrupt."""
        hit = len(self.sites) == self.corrupt
        self.sites.append(what)
        if hit:
            self.what = what
        return hit

    def allocate(self, length: int, align: int) -> int:
        start = align_to(DATA + len(self.bytes), align)
        self.bytes.extend(bytes(start + length - DATA - len(self.bytes)))
        return start

    def write(self, addr: int, value: int, width: int) -> None:
        data = (value % (1 << 8 * width)).to_bytes(width, "little")
        self.bytes[addr - DATA:addr - DATA + width] = data

    def bad_pointer(self, ptr: int, align: int) -> int:
        return self.rng.choice([ptr + 1 if align > 1 else ptr + 0x10000, 0xFFFFFFF0,
                                4 * PAGE - 2, 1 << 31])

    def store_string(self, s: str) -> tuple[int, int]:
        """Stores `s`; its pointer and length (with the Latin-1/UTF-16 tag)."""
        rng = self.rng
        if self.encoding == "utf8":
            data, align, units = bytearray(s.encode()), 1, len(s.encode())
        elif self.encoding == "utf16" or any(ord(c) > 0xFF for c in s):
            data, align = bytearray(s.encode("utf-16-le")), 2
            units = len(data) // 2
        else:
            data, align, units = bytearray(s.encode("latin-1")), 2, len(s)
        tagged = self.encoding == "latin1+utf16" and align == 2 and any(ord(c) > 0xFF for c in s)
        if data and self.site("a byte of a string"):
            i = rng.randrange(len(data))
            if self.encoding == "utf8":
                data[i] = rng.choice([0x80, 0xC0, 0xFF, 0xED])
            elif self.encoding == "utf16" or tagged:
                i -= i % 2
                data[i:i + 2] = rng.choice([0xD800, 0xDC00, 0xDFFF]).to_bytes(2, "little")
            else:
                data[i] = rng.randrange(256)
        ptr = self.allocate(len(data), align)
        self.bytes[ptr - DATA:ptr - DATA + len(data)] = data
        length = units | (1 << 31 if tagged else 0)
        if self.site("a string's pointer"):
            ptr = self.bad_pointer(ptr, align)
        if self.site("a string's length"):
            length = rng.choice([length + 1, 0x7FFFFFFF, 0xFFFFFFFF, length ^ (1 << 31)])
        return ptr, length

    def store_list(self, elem, items: list) -> tuple[int, int]:
        ptr = self.allocate(size(elem) * len(items), alignment(elem))
        for i, v in enumerate(items):
            self.store(elem, v, ptr + i * size(elem))
        length = len(items)
        if self.site("a list's pointer"):
            ptr = self.bad_pointer(ptr, alignment(elem))
        if self.site("a list's length"):
            length = self.rng.choice([length + 1, 0x7FFFFFFF, 0x10000000])
        return ptr, length

    def discriminant(self, t, i: int) -> int:
        if self.site("a discriminant"):
            n = len(cases_of(t))
            return self.rng.choice([n, n + 1, (1 << 8 * discriminant_size(n)) - 1])
        return i

    def store(self, t, v, addr: int) -> None:
        """Stores `v` of type `t` at `addr` (CanonicalABI.md `store`)."""
        kind = t[0]
        if kind in INTS:
            self.write(addr, v, INTS[kind][0])
        elif kind == "bool":
            self.write(addr, self.rng.randint(2, 255) if self.site("a bool") else int(v), 1)
        elif kind in ("own", "borrow"):
            if self.site("a handle"):
                self.write(addr, self.bad_handle(), 4)
            else:
                self.inits.append((addr, v))
        elif kind == "char":
            self.write(addr, self.bad_char() if self.site("a char") else ord(v), 4)
        elif kind == "f32":
            self.write(addr, v, 4)
        elif kind == "f64":
            self.write(addr, v, 8)
        elif kind in ("string", "list"):
            ptr, length = self.store_string(v) if kind == "string" else self.store_list(t[1], v)
            self.write(addr, ptr, 4)
            self.write(addr + 4, length, 4)
        elif kind in ("record", "tuple"):
            offset = 0
            for f, fv in zip(fields_of(t), v):
                offset = align_to(offset, alignment(f))
                self.store(f, fv, addr + offset)
                offset += size(f)
        elif kind == "flags":
            self.write(addr, self.bad_flags(t, v), flags_size(len(t[1])))
        else:
            i, payload = v
            self.write(addr, self.discriminant(t, i), discriminant_size(len(cases_of(t))))
            p = cases_of(t)[i][1]
            if p is not None:
                self.store(p, payload, addr + payload_offset(t))

    def bad_handle(self) -> int:
        """An index that is no handle of the caller's table (0 never is),
        or one that may be, but of another value than the one meant."""
        return self.rng.choice([0, 1, 2, 1000, 0xFFFFFFFF])

    def init_text(self) -> str:
        """The instructions that make the handles stored in memory."""
        return "\n        ".join(f"(i32.store {const('i32', addr)} {self.make(rep)})"
                                   for addr, rep in self.inits)

    def make(self, rep: int) -> str:
        """The call that makes a handle to `rep`."""
        return f"(call {self.handles} {const('i32', rep)})"

    def const(self, core: str, bits) -> str:
        """A flat value's instructions: a constant, or a made handle."""
        if isinstance(bits, tuple):
            call = self.make(bits[1])
            return call if core == "i32" else f"(i64.extend_i32_u {call})"
        return const(core, bits)

    def bad_char(self) -> int:
        return self.rng.choice([0xD800, 0xDFFF, 0x110000, 0xFFFFFFFF])

    def bad_flags(self, t, v: int) -> int:
        n = len(t[1])
        if n < 8 * flags_size(n) and self.site("flags' unused bits"):
            return v | 1 << self.rng.randrange(n, 8 * flags_size(n))
        return v

    def lower_flat(self, t, v) -> list[tuple[str, int]]:
        """`v` as flat core values (CanonicalABI.md `lower_flat`), as (core
        type, bits); strings and lists stored in this memory."""
        kind = t[0]
        if kind in INTS:
            width, _ = INTS[kind]
            core = "i64" if width == 8 else "i32"
            bits = v % (1 << 8 * width)
            if width < 4 and v < 0:
                bits = v % (1 << 32)
            if width < 4 and self.site("an integer's unused high bits"):
                bits |= self.rng.randrange(1, 1 << (32 - 8 * width)) << 8 * width
            return [(core, bits)]
        if kind == "bool":
            return [("i32", self.rng.randint(2, 1 << 31) if self.site("a bool") else int(v))]
        if kind in ("own", "borrow"):
            return [("i32", self.bad_handle() if self.site("a handle") else ("handle", v))]
        if kind == "char":
            return [("i32", self.bad_char() if self.site("a char") else ord(v))]
        if kind in ("f32", "f64"):
            return [(kind, v)]
        if kind in ("string", "list"):
            ptr, length = self.store_string(v) if kind == "string" else self.store_list(t[1], v)
            return [("i32", ptr), ("i32", length)]
        if kind in ("record", "tuple"):
            return [c for f, fv in zip(fields_of(t), v) for c in self.lower_flat(f, fv)]
        if kind == "flags":
            return [("i32", self.bad_flags(t, v))]
        i, payload = v
        flat = flatten(t)
        out = [("i32", self.discriminant(t, i))]
        p = cases_of(t)[i][1]
        if p is not None:
            for want, (have, bits) in zip(flat[1:], self.lower_flat(p, payload)):
                # CanonicalABI.md `lower_flat_variant`: a payload's value
                # in the joined slot; floats as their bits.
                out.append((want, bits))
        out.extend((want, 0) for want in flat[len(out):])
        return out


def const(core: str, bits: int) -> str:
    """A constant instruction sequence for a core value given as bits."""
    if core == "f32":
        return f"(f32.reinterpret_i32 (i32.const {bits}))"
    if core == "f64":
        return f"(f64.reinterpret_i64 (i64.const {bits - (1 << 64) if bits >> 63 else bits}))"
    if core == "i64":
        return f"(i64.const {bits - (1 << 64) if bits >> 63 else bits})"
    return f"(i32.const {bits - (1 << 32) if bits >> 31 else bits})"


def data_text(data: bytes) -> str:
    return '"' + "".join(f"\\{b:02x}" for b in data) + '"'


# Core functions both core modules have: an FNV-1a style hash of 64-bit
# words and of a range of bytes, and a bump allocator (CanonicalABI.md
# `realloc`: grows by copying, shrinks in place) whose memory grows when
# it runs out. It zeroes what it frees (the tail a shrink gives back, the
# block a growth leaves), so that the hash sees what the lowering left in
# the blocks it holds, not the scratch bytes a transcoder wrote beyond a
# string's end before shrinking it (Wasmtime copies the UTF-8 source
# there, smelt leaves the bytes as they were). It hashes its calls'
# arguments into `$calls`, which the results include: the specification
# orders and sizes the allocations of a lowering. The alignment counts
# only for a new block: the shrink of a UTF-16 string to Latin-1 passes
# alignment 1 (CanonicalABI.md `store_probably_utf16_to_latin1_or_utf16`)
# where Wasmtime passes 2.
HASH_FUNCS = """
    (func $mix (param $h i64) (param $x i64) (result i64)
      (i64.mul (i64.xor (local.get $h) (local.get $x)) (i64.const 0x100000001b3)))
    (func $bytes (param $h i64) (param $lo i32) (param $hi i32) (result i64)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $h (call $mix (local.get $h) (i64.load8_u (local.get $lo))))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (br $next)))
      (local.get $h))"""

REALLOC = """
    (func $realloc (export "realloc") (param $old i32) (param $old_size i32)
                   (param $align i32) (param $new_size i32) (result i32)
      (local $ptr i32) (local $end i32)
      (global.set $calls (call $mix (call $mix (call $mix (call $mix (global.get $calls)
        (i64.extend_i32_u (local.get $old))) (i64.extend_i32_u (local.get $old_size)))
        (i64.extend_i32_u (select (local.get $align) (i32.const 0) (i32.eqz (local.get $old)))))
        (i64.extend_i32_u (local.get $new_size))))
      (if (i32.and (i32.ne (local.get $old) (i32.const 0))
                   (i32.le_u (local.get $new_size) (local.get $old_size)))
        (then (memory.fill (i32.add (local.get $old) (local.get $new_size)) (i32.const 0)
                           (i32.sub (local.get $old_size) (local.get $new_size)))
              (return (local.get $old))))
      (local.set $ptr (i32.and (i32.add (global.get $bump)
                                        (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then (if (i32.lt_s (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                    (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
                  (i32.const 0))
                (then unreachable))))
      (memory.copy (local.get $ptr) (local.get $old) (local.get $old_size))
      (memory.fill (local.get $old) (i32.const 0) (local.get $old_size))
      (global.set $bump (local.get $end))
      (local.get $ptr))"""


class Case:
    """One generated component: `fields` (the text inside `(component
    ...)`), and `description` (the type, encodings and corruptions)."""

    def __init__(self, fields: str, description: str):
        self.fields = fields
        self.description = description


def hash_flat(types: list[str], first: int) -> str:
    """Mixes locals `first`.. of `types` into local $h."""
    out = []
    for i, c in enumerate(types):
        x = f"(local.get {first + i})"
        x = {"i32": f"(i64.extend_i32_u {x})", "i64": x,
             "f32": f"(i64.extend_i32_u (i32.reinterpret_f32 {x}))",
             "f64": f"(i64.reinterpret_f64 {x})"}[c]
        out.append(f"(local.set $h (call $mix (local.get $h) {x}))")
    return "\n      ".join(out)


def heap_start(data_end: int, rng: random.Random) -> int:
    """Where a memory's allocations begin, after its data; the memory
    ends at the page that holds it. Half the time it is close to the
    end of that page, so that an allocation makes `realloc` grow the
    memory, during the adapter's lowering."""
    heap = align_to(data_end, 8)
    if rng.random() < 0.5:
        heap = max(heap, align_to(heap + 1, PAGE) - rng.choice([0, 8, 64, 512]))
    return heap


def pick_site(sites: list[str], rng: random.Random) -> int:
    """A place to corrupt: a kind of place first, then one of its kind
    (a variant's discriminants would otherwise take most cases)."""
    kind = rng.choice(sorted(set(sites)))
    return rng.choice([i for i, what in enumerate(sites) if what == kind])


def case(seed: int) -> Case:
    g = Gen(seed)
    rng = g.rng
    while True:
        t = g.type(3)
        if size(t) <= 512:
            break
    # `put`'s parameters: a value of T and up to two more, as the tuple
    # that is passed by pointer when it flattens to more than 16 values.
    while True:
        params = ("tuple", (t, *(g.type(2, borrow=True) for _ in range(rng.choice([0, 0, 1, 2])))))
        if size(params) <= 512:
            break
    named: list = []
    named_types(params, named)
    names = {nt: f"$t{i}" for i, nt in enumerate(named)}
    a_encoding, b_encoding = rng.choice(ENCODINGS), rng.choice(ENCODINGS)

    # `get`: the value as `$A` stores it, corrupted in a third of the cases.
    get_value = g.value(t)
    a_memory = Memory(a_encoding, None, rng, "$new")
    flat = flatten(t)

    def lower_get(memory: Memory) -> list[tuple[str, int]]:
        if len(flat) > MAX_FLAT_RESULTS:
            p = memory.allocate(size(t), alignment(t))
            memory.store(t, get_value, p)
            return [("i32", p)]
        return memory.lower_flat(t, get_value)

    get_result = lower_get(a_memory)
    if rng.random() < 1 / 3 and a_memory.sites:
        a_memory = Memory(a_encoding, pick_site(a_memory.sites, rng),
                          random.Random(seed ^ 0x5EED), "$new")
        get_result = lower_get(a_memory)
    a_heap = heap_start(DATA + len(a_memory.bytes), rng)

    # `put`: the value as the caller stores it, its flat parameters or a
    # pointer to it, corrupted in a third of the cases.
    put_value = g.value(params)
    b_memory = Memory(b_encoding, None, rng, "$make")
    by_pointer = len(flatten(params)) > MAX_FLAT_PARAMS

    def lower_put(memory: Memory) -> list[tuple[str, int]]:
        if by_pointer:
            p = memory.allocate(size(params), alignment(params))
            memory.store(params, put_value, p)
            return [("i32", p)]
        return memory.lower_flat(params, put_value)

    put_args = lower_put(b_memory)
    if rng.random() < 1 / 3 and b_memory.sites:
        b_memory = Memory(b_encoding, pick_site(b_memory.sites, rng),
                          random.Random(seed ^ 0xB0B), "$make")
        put_args = lower_put(b_memory)
    b_heap = heap_start(DATA + len(b_memory.bytes), rng)

    a_params = ["i32"] if by_pointer else flatten(params)
    get_core_results = ["i32"] if len(flat) > MAX_FLAT_RESULTS else flat
    types = "\n    ".join(
        f"(type {names[nt]}' {definition_text(nt, names)}) "
        f"(export {names[nt]} \"t{i}\" (type {names[nt]}'))" for i, nt in enumerate(named))
    t_text = type_text(t, names)
    params_text = " ".join(f'(param "p{i}" {type_text(p, names)})'
                           for i, p in enumerate(params[1]))
    a_pages = (a_heap + PAGE - 1) // PAGE
    b_pages = (b_heap + PAGE - 1) // PAGE
    component_a = f"""
  (component $A
    (type $r' (resource (rep i32)))
    (export $r "r" (type $r'))
    {types}
    (core func $new (canon resource.new $r'))
    (core module $M
      (import "r" "new" (func $new (param i32) (result i32)))
      (memory (export "mem") {a_pages})
      (global $bump (mut i32) (i32.const {a_heap}))
      (global $calls (mut i64) (i64.const {FNV_OFFSET - (1 << 64)}))
      (data (i32.const {DATA}) {data_text(a_memory.bytes)})
      {HASH_FUNCS}
      {REALLOC}
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      (func (export "get") (result {' '.join(get_core_results)})
        {a_memory.init_text()}
        {' '.join(a_memory.const(c, b) for c, b in get_result)})
      (func (export "put") (param {' '.join(a_params)}) (result i64)
        (local $h i64)
        (local.set $h (i64.const {FNV_OFFSET - (1 << 64)}))
        {hash_flat(a_params, 0)}
        (call $mix (call $bytes (local.get $h) (i32.const {a_heap}) (global.get $bump))
                   (global.get $calls))))
    (core instance $m (instantiate $M (with "r" (instance (export "new" (func $new))))))
    (func (export "make") (param "rep" u32) (result (own $r))
      (canon lift (core func $m "make")))
    (func (export "get") (result {t_text})
      (canon lift (core func $m "get") (memory (core memory $m "mem"))
        string-encoding={a_encoding}))
    (func (export "put") {params_text} (result u64)
      (canon lift (core func $m "put") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc"))
        string-encoding={a_encoding})))"""

    get_lowered = "(param i32)" if len(flat) > MAX_FLAT_RESULTS else f"(result {flat[0]})"
    run_get = run_get_text(flat, size(t))
    import_types = "\n      ".join(
        f"(type {names[nt]}' {definition_text(nt, names)}) "
        f"(export \"t{i}\" (type {names[nt]} (eq {names[nt]}')))"
        for i, nt in enumerate(named))
    # The caller is `$A`'s sibling: a component may not call into one it
    # contains (CanonicalABI.md `call_might_be_recursive`).
    main = f"""
  (component $B
    (import "a" (instance $a
      (export "r" (type $r (sub resource)))
      {import_types}
      (export "make" (func (param "rep" u32) (result (own $r))))
      (export "get" (func (result {t_text})))
      (export "put" (func {params_text} (result u64)))))
    (core module $Libc
      (memory (export "mem") {b_pages})
      (global $bump (export "bump") (mut i32) (i32.const {b_heap}))
      (global $calls (export "calls") (mut i64) (i64.const {FNV_OFFSET - (1 << 64)}))
      {HASH_FUNCS}
      {REALLOC})
    (core instance $libc (instantiate $Libc))
    (core func $get (canon lower (func $a "get") (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc")) string-encoding={b_encoding}))
    (core func $put (canon lower (func $a "put") (memory (core memory $libc "mem"))
      string-encoding={b_encoding}))
    (core func $make (canon lower (func $a "make")))
    (core module $Main
      (import "libc" "mem" (memory 1))
      (import "libc" "bump" (global $bump (mut i32)))
      (import "libc" "calls" (global $calls (mut i64)))
      (import "a" "make" (func $make (param i32) (result i32)))
      (import "a" "get" (func $get {get_lowered}))
      (import "a" "put" (func $put (param {' '.join(a_params)}) (result i64)))
      (data (i32.const {DATA}) {data_text(b_memory.bytes)})
      {HASH_FUNCS}
      (func (export "get") (result i64)
        {run_get})
      (func (export "put") (result i64)
        {b_memory.init_text()}
        (call $put {' '.join(b_memory.const(c, b) for c, b in put_args)})))
    (core instance $main (instantiate $Main (with "libc" (instance $libc))
      (with "a" (instance (export "get" (func $get)) (export "put" (func $put))
                          (export "make" (func $make))))))
    (func (export "get") (result u64) (canon lift (core func $main "get")))
    (func (export "put") (result u64) (canon lift (core func $main "put"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "a" (instance $a))))
  (func (export "get") (alias export $b "get"))
  (func (export "put") (alias export $b "put"))"""
    description = (f"T = {t_text}; put {params_text}; $A {a_encoding}, caller {b_encoding}; "
                   f"get corrupts {a_memory.what or 'nothing'}, "
                   f"put corrupts {b_memory.what or 'nothing'}")
    return Case(component_a + main, description)


def run_get_text(flat: list[str], t_size: int) -> str:
    """The outer core function `get`: calls the lowered `get` and hashes
    the result (the flat value, or the result area) and what the lowering
    allocated."""
    init = f"(local $h i64) (local $x {flat[0]})\n      " \
           f"(local.set $h (i64.const {FNV_OFFSET - (1 << 64)}))\n      "
    if len(flat) > MAX_FLAT_RESULTS:
        body = (f"(call $get (i32.const {RET_B}))\n      "
                f"(local.set $h (call $bytes (local.get $h) (i32.const {RET_B}) "
                f"(i32.const {RET_B + t_size})))")
    else:
        body = "(local.set $x (call $get))\n      " + hash_flat([flat[0]], 1)
    return (init + body + "\n      "
            f"(call $mix (call $bytes (local.get $h) (i32.const {DATA}) (global.get $bump))\n"
            "        (global.get $calls))")
