"""Random modules of what `wasm-tools smith` rarely produces: bulk memory
and table instructions over several memories and tables, at and across
their bounds.

A module has one to three memories (32- or 64-bit, of 0 to 2 pages, with or
without a maximum), active and passive data segments, one to three tables
(`funcref` or `externref`, 32- or 64-bit), active, passive and declared
element segments, and exported functions `f0`, `f1`, ... without
parameters or results, each a few of `memory.copy` (within a memory and
between two), `memory.fill`, `memory.init`, `data.drop`, `memory.grow`,
stores, `table.copy`, `table.init`, `table.fill`, `table.set`,
`table.grow` and `elem.drop`. Addresses and lengths are drawn from the
interesting values: 0, 1, the memory's or table's end and its neighbours,
and values that overflow. Every memory and table is exported (`m0`, `t0`,
...), so that the differential test compares them after the calls.

    module_text(seed) -> str    the module of `seed`, in the text format
"""

import random

PAGE = 65536


class Gen:
    """The state of one module's generation."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        rng = self.rng
        # (is64, min pages, max pages or None)
        self.memories = []
        for _ in range(rng.randint(1, 3)):
            minimum = rng.choice([0, 1, 1, 2])
            maximum = rng.choice([None, None, minimum, minimum + 1, minimum + 3])
            self.memories.append((rng.random() < 0.3, minimum, maximum))
        # (is64, element type, min elements, max elements or None)
        self.tables = []
        for _ in range(rng.randint(1, 3)):
            minimum = rng.choice([0, 1, 4, 10])
            maximum = rng.choice([None, minimum, minimum + 5])
            elem = "funcref" if rng.random() < 0.7 else "externref"
            self.tables.append((rng.random() < 0.3, elem, minimum, maximum))
        self.datas = [rng.randbytes(rng.choice([0, 1, 7, 16, 100, 300]))
                      for _ in range(rng.randint(0, 4))]
        self.elems = [rng.randint(0, 6) for _ in range(rng.randint(0, 3))]
        self.funcs = 3

    def addr_const(self, is64: bool, value: int) -> str:
        bits = 64 if is64 else 32
        return f"(i{bits}.const {value % (1 << bits)})"

    def address(self, is64: bool, size: int, length: int) -> int:
        """An address into a memory or table of `size` units for an access
        of `length`: in bounds 60% of the time, else one of 0, 1, the
        end and its neighbours, or an address that overflows."""
        rng = self.rng
        top = (1 << 64) - 1 if is64 else (1 << 32) - 1
        if rng.random() < 0.6 and length <= size:
            return rng.randint(0, size - length)
        return rng.choice([
            0, 1, rng.randint(0, max(size, 1)), rng.randint(0, max(size, 1)),
            size - length, size - length + 1, size - length - 1, size, size + 1,
            top, top - length + 1, 1 << 31,
        ]) % (top + 1)

    def length(self, size: int) -> int:
        """A length for a memory or table of `size` units: up to 300 60% of
        the time, else 0, 1, the size, one past it or a large length."""
        rng = self.rng
        if rng.random() < 0.6:
            return rng.randint(0, min(size, 300))
        return rng.choice([0, 1, 2, 8, rng.randint(0, 300), rng.randint(0, 300), size, size + 1,
                           PAGE, (1 << 32) - 1])

    def memory_op(self) -> str:
        rng = self.rng
        m = rng.randrange(len(self.memories))
        is64, pages, _ = self.memories[m]
        size = pages * PAGE
        kind = rng.choice(["copy", "copy", "fill", "init", "drop", "grow", "store", "store"])
        if kind == "copy":
            s = m if rng.random() < 0.5 else rng.randrange(len(self.memories))
            s64, s_pages, _ = self.memories[s]
            n = self.length(min(size, s_pages * PAGE))
            len64 = is64 and s64
            n %= 1 << (64 if len64 else 32)
            dst = self.address(is64, size, n)
            src = self.address(s64, s_pages * PAGE, n)
            return (f"(memory.copy {m} {s} {self.addr_const(is64, dst)} "
                    f"{self.addr_const(s64, src)} {self.addr_const(len64, n)})")
        if kind == "fill":
            n = self.length(size) % (1 << (64 if is64 else 32))
            dst = self.address(is64, size, n)
            return (f"(memory.fill {m} {self.addr_const(is64, dst)} "
                    f"(i32.const {rng.randint(0, 255)}) {self.addr_const(is64, n)})")
        if kind in ("init", "drop") and self.datas:
            d = rng.randrange(len(self.datas))
            if kind == "drop":
                return f"(data.drop {d})"
            data_len = len(self.datas[d])
            n = rng.choice([0, 1, data_len, data_len + 1, rng.randint(0, max(data_len, 1))])
            src = rng.choice([0, 1, data_len - n, data_len - n + 1, data_len])
            dst = self.address(is64, size, n)
            return (f"(memory.init {m} {d} {self.addr_const(is64, dst)} "
                    f"(i32.const {src % (1 << 32)}) (i32.const {n % (1 << 32)}))")
        if kind == "grow":
            # A 64-bit memory grows to 8 GiB in both engines: no delta
            # between 2 pages and 2^48 (a memory.fill could then write GiBs).
            big = [1 << 48] if is64 else [0x10001, (1 << 32) - 1]
            delta = rng.choice([0, 1, 1, 2, *big])
            return f"(drop (memory.grow {m} {self.addr_const(is64, delta)}))"
        width, op = rng.choice([(1, "i32.store8"), (2, "i32.store16"), (4, "i32.store"),
                                (8, "i64.store")])
        ty = op[:3]
        addr = self.address(is64, size, width)
        value = rng.getrandbits(32 if ty == "i32" else 64)
        return f"({op} {m} {self.addr_const(is64, addr)} ({ty}.const {value}))"

    def ref(self, elem: str) -> str:
        if elem == "externref" or self.rng.random() < 0.3:
            return "(ref.null func)" if elem == "funcref" else "(ref.null extern)"
        return f"(ref.func $g{self.rng.randrange(self.funcs)})"

    def table_op(self) -> str:
        rng = self.rng
        t = rng.randrange(len(self.tables))
        is64, elem, size, _ = self.tables[t]
        kind = rng.choice(["copy", "copy", "init", "drop", "fill", "set", "grow"])
        if kind == "copy":
            same = [s for s, table in enumerate(self.tables) if table[1] == elem]
            s = rng.choice(same)
            s64, _, s_size, _ = self.tables[s]
            len64 = is64 and s64
            n = self.length(min(size, s_size)) % (1 << (64 if len64 else 32))
            dst = self.address(is64, size, n)
            src = self.address(s64, s_size, n)
            return (f"(table.copy {t} {s} {self.addr_const(is64, dst)} "
                    f"{self.addr_const(s64, src)} {self.addr_const(len64, n)})")
        if kind in ("init", "drop") and self.elems:
            e = rng.randrange(len(self.elems))
            if kind == "drop" or elem != "funcref":
                return f"(elem.drop {e})"
            elem_len = self.elems[e]
            n = rng.choice([0, 1, elem_len, elem_len + 1])
            src = rng.choice([0, 1, elem_len - n, elem_len - n + 1, elem_len])
            dst = self.address(is64, size, n)
            return (f"(table.init {t} {e} {self.addr_const(is64, dst)} "
                    f"(i32.const {src % (1 << 32)}) (i32.const {n % (1 << 32)}))")
        if kind == "fill":
            n = self.length(size) % (1 << (64 if is64 else 32))
            if n > 1 << 20:
                n = rng.choice([size, size + 1, 1 << 20])
            dst = self.address(is64, size, n)
            return (f"(table.fill {t} {self.addr_const(is64, dst)} {self.ref(elem)} "
                    f"{self.addr_const(is64, n)})")
        if kind == "grow":
            delta = rng.choice([0, 1, 3, 10, 1 << 24])
            return f"(drop (table.grow {t} {self.ref(elem)} {self.addr_const(is64, delta)}))"
        index = self.address(is64, size, 1)
        return f"(table.set {t} {self.addr_const(is64, index)} {self.ref(elem)})"

    def module(self) -> str:
        rng = self.rng
        lines = ["(module"]
        for i in range(self.funcs):
            lines.append(f"  (func $g{i} (result i32) (i32.const {i}))")
        for i, (is64, minimum, maximum) in enumerate(self.memories):
            index = "i64 " if is64 else ""
            limit = f" {maximum}" if maximum is not None else ""
            lines.append(f'  (memory (export "m{i}") {index}{minimum}{limit})')
        for i, (is64, elem, minimum, maximum) in enumerate(self.tables):
            index = "i64 " if is64 else ""
            limit = f" {maximum}" if maximum is not None else ""
            lines.append(f'  (table (export "t{i}") {index}{minimum}{limit} {elem})')
        for data in self.datas:
            bytes_ = "".join(f"\\{b:02x}" for b in data)
            m = rng.randrange(len(self.memories))
            is64, pages, _ = self.memories[m]
            if rng.random() < 0.5 or len(data) > pages * PAGE:
                lines.append(f'  (data "{bytes_}")')
                continue
            # Mostly in bounds: an active segment out of bounds traps the
            # instantiation, and the module's calls are not made.
            top = max(pages * PAGE - len(data), 0)
            offset = rng.randint(0, top) if rng.random() < 0.95 else top + 1
            lines.append(f'  (data (memory {m}) {self.addr_const(is64, offset)} "{bytes_}")')
        funcref_tables = [t for t, table in enumerate(self.tables) if table[1] == "funcref"]
        for count in self.elems:
            items = " ".join(self.ref("funcref") for _ in range(count))
            mode = rng.choice(["passive", "active", "declare"])
            t = rng.choice(funcref_tables) if funcref_tables else None
            if mode == "active" and t is not None and count <= self.tables[t][2]:
                is64, _, size, _ = self.tables[t]
                offset = rng.randint(0, size - count)
                lines.append(f"  (elem (table {t}) {self.addr_const(is64, offset)} funcref {items})")
            elif mode == "declare":
                lines.append(f"  (elem declare funcref {items})")
            else:
                lines.append(f"  (elem funcref {items})")
        names = " ".join(f"$g{i}" for i in range(self.funcs))
        lines.append(f"  (elem declare func {names})")
        for f in range(rng.randint(1, 6)):
            ops = [self.memory_op() if rng.random() < 0.6 else self.table_op()
                   for _ in range(rng.randint(1, 5))]
            lines.append(f'  (func (export "f{f}") {" ".join(ops)})')
        lines.append(")")
        return "\n".join(lines)


def module_text(seed: int) -> str:
    """The module of `seed`, in the text format (see the module's text)."""
    return Gen(seed).module()
