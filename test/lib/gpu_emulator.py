#!/usr/bin/env python3
"""Runs MLIR functions on buffers, GPU kernels included, in plain Python.

    gpu_emulator.py REFERENCE.mlir KERNELS.mlir [--seed N] [--tolerance T]

Both files are the same functions in MLIR's generic form, on buffers:
REFERENCE as the ops are (linalg ops, run loop by loop), KERNELS after GPU
passes (gpu.launch bodies). A file of -mlir-print-ir-after dumps stands for
its last module. Every public function of REFERENCE is
run in both on the same seeded random arguments, and every buffer argument
and returned buffer is compared; one line per function:

    @name: 3 buffers match (512 elements, max relative error 1.2e-07)

A kernel runs one block at a time, its threads interleaved: a thread runs
until it reaches gpu.barrier (all threads of the block must arrive before any
goes on) or an mma.sync (all 32 lanes of its warp must arrive; the product is
computed from the lanes' registers by the fragment layouts of the PTX ISA,
"Matrix Fragments for mma.m16n8k16 / mma.m16n8k32"). Buffers from
memref.alloc and memref.alloca start as NaN (or 0xA5 bytes), so a read
before a write shows.

Only the ops AMPC's kernels and their reference use are interpreted; any other
op is an error naming it. Python 3 only, no third-party modules.
"""

import math
import random
import re
import struct
import sys


# ---------------------------------------------------------------- numbers

def f32(x):
    """x rounded to the nearest f32 (as a Python float)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bits_f32(b):
    return struct.unpack("<f", struct.pack("<I", b & 0xFFFFFFFF))[0]


def fp8_value(bits, kind):
    """The value of an 8-bit float pattern (E4M3FN or E5M2)."""
    sign = -1.0 if bits & 0x80 else 1.0
    if kind == "f8E4M3FN":
        e, m = (bits >> 3) & 0xF, bits & 0x7
        if e == 0xF and m == 0x7:
            return math.nan
        if e == 0:
            return sign * m * 2.0 ** -9
        return sign * (1 + m / 8) * 2.0 ** (e - 7)
    e, m = (bits >> 2) & 0x1F, bits & 0x3
    if e == 0x1F:
        return sign * math.inf if m == 0 else math.nan
    if e == 0:
        return sign * m * 2.0 ** -16
    return sign * (1 + m / 4) * 2.0 ** (e - 15)


def small_float_value(bits, kind):
    if kind == "bf16":
        return bits_f32(bits << 16)
    if kind == "f16":
        return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]
    return fp8_value(bits, kind)


def small_float_bits(x, kind):
    """x rounded to nearest even into a 16- or 8-bit float pattern."""
    if kind == "bf16":
        b = f32_bits(x)
        if math.isnan(x):
            return ((b >> 16) | 0x40) & 0xFFFF
        return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
    if kind == "f16":
        try:
            return struct.unpack("<H", struct.pack("<e", x))[0]
        except OverflowError:
            return 0xFC00 if x < 0 else 0x7C00
    # fp8: the nearest finite pattern, ties to the even one; beyond the
    # largest finite value: NaN (E4M3FN has no infinity) or infinity.
    best = None
    for bits in range(256):
        v = fp8_value(bits, kind)
        if math.isnan(v) or math.isinf(v):
            continue
        d = abs(v - x)
        if best is None or d < best[0] or (d == best[0] and bits % 2 == 0):
            best = (d, bits)
    return best[1]


FLOAT16 = ("bf16", "f16", "f8E4M3FN", "f8E5M2")


_widths = {}


def int_width(t):
    if t not in _widths:
        m = re.fullmatch(r"i(\d+)", t)
        _widths[t] = int(m.group(1)) if m else None
    return _widths[t]


# ---------------------------------------------------------------- buffers

class Buffer:
    """A memref: a flat list of elements (shared by views), an offset,
    a shape and strides (row-major for a new buffer)."""

    def __init__(self, shape, elem, fill=None):
        self.shape = list(shape)
        self.elem = elem
        n = 1
        for d in shape:
            n *= d
        if fill is None:
            fill = math.nan if elem in ("f32", "f64") else (
                0xFFFF if elem in ("bf16", "f16") else 0xA5)
        self.data = [fill] * n
        self.base = 0
        self.strides = []
        stride = 1
        for d in reversed(self.shape):
            self.strides.insert(0, stride)
            stride *= d

    def offset(self, idx):
        if len(idx) != len(self.shape):
            raise RuntimeError("rank mismatch")
        off = self.base
        for i, d, st in zip(idx, self.shape, self.strides):
            if not 0 <= i < d:
                raise RuntimeError("index %s out of bounds of %s" % (idx, self.shape))
            off += i * st
        return off

    def indices(self):
        def rec(prefix):
            if len(prefix) == len(self.shape):
                yield prefix
                return
            for i in range(self.shape[len(prefix)]):
                yield from rec(prefix + [i])
        return rec([])

    def view(self, offsets, sizes, strides, result_shape):
        v = Buffer([], self.elem, 0)
        v.data = self.data
        v.base = self.offset(offsets) if sizes else self.base
        dims = list(range(len(sizes)))
        # Rank reduction drops unit dims (the first ones that fit).
        drop = len(sizes) - len(result_shape)
        kept = []
        for d in dims:
            if drop and sizes[d] == 1:
                drop -= 1
                continue
            kept.append(d)
        v.shape = [sizes[d] for d in kept]
        v.strides = [self.strides[d] * strides[d] for d in kept]
        return v


def parse_memref(t):
    m = re.fullmatch(r"memref<([^,>]*?)(?:,.*)?>", t.strip())
    if not m:
        raise RuntimeError("unsupported type " + t)
    parts = m.group(1).split("x")
    return [int(p) for p in parts[:-1]], parts[-1]


# ---------------------------------------------------------------- parsing

class Op:
    def __init__(self, results, name, operands, props, regions, rtypes, line):
        self.results, self.name, self.operands = results, name, operands
        self.props, self.regions, self.rtypes, self.line = props, regions, rtypes, line


class Block:
    def __init__(self, args, types):
        self.args, self.types, self.ops = args, types, []


def split_top(text, sep=","):
    out, depth, cur, quote = [], 0, "", False
    for i, ch in enumerate(text):
        if ch == '"':
            quote = not quote
        if not quote:
            if ch in "(<[{":
                depth += 1
            elif ch in ")>]}" and not (ch == ">" and text[i - 1:i] == "-"):
                depth -= 1
            elif ch == sep and depth == 0:
                out.append(cur.strip())
                cur = ""
                continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


OP_RE = re.compile(r'^(?:(%[\w]+)(?::(\d+))? = )?"([\w.]+)"\(([^)]*)\)(.*)$')
BLOCK_RE = re.compile(r"^\^bb\d+(?:\((.*)\))?:$")


def result_types(sig):
    """Result types from an op's trailing ': (...) -> results'."""
    i = sig.rfind(" -> ")
    if i < 0:
        return []
    r = sig[i + 4:].strip()
    if r.startswith("(") and r.endswith(")"):
        r = r[1:-1]
    return split_top(r) if r else []


class Parser:
    def __init__(self, text):
        self.aliases = {}
        self.lines = []
        for raw in text.splitlines():
            s = raw.strip()
            if not s or s.startswith("//"):
                continue
            m = re.match(r"^(#\w+) = (.*)$", s)
            if m:
                self.aliases[m.group(1)] = m.group(2)
                continue
            self.lines.append(s)
        self.pos = 0

    def parse_op(self):
        line = self.lines[self.pos]
        self.pos += 1
        m = OP_RE.match(line)
        if not m:
            raise RuntimeError("cannot parse: " + line)
        res, count, name, operands, rest = m.groups()
        results = []
        if res:
            n = int(count) if count else 1
            results = [res] if n == 1 else ["%s#%d" % (res, i) for i in range(n)]
        operands = [o.strip() for o in operands.split(",") if o.strip()]
        regions = []
        props = rest
        if rest.endswith("({"):
            props = rest[:-2]
            while True:
                region, closing = self.parse_region()
                regions.append(region)
                if closing.startswith("}, {"):
                    continue
                rest = closing[2:]
                break
        return Op(results, name, operands, props, regions,
                  result_types(rest), line)

    def parse_region(self):
        blocks = []
        while True:
            line = self.lines[self.pos]
            if line.startswith("})") or line.startswith("}, {"):
                self.pos += 1
                return blocks, line
            m = BLOCK_RE.match(line)
            if m:
                self.pos += 1
                args, types = [], []
                for a in split_top(m.group(1) or ""):
                    n, t = a.split(":", 1)
                    args.append(n.strip())
                    types.append(t.strip())
                blocks.append(Block(args, types))
                continue
            if not blocks:
                blocks.append(Block([], []))
            blocks[-1].ops.append(self.parse_op())

    def module(self):
        op = self.parse_op()
        if op.name != "builtin.module":
            raise RuntimeError("expected a module")
        return op


def properties(op):
    """The entries of an op's <{...}> properties, by name."""
    if hasattr(op, "_props"):
        return op._props
    text = op.props
    start = text.find("<{")
    entries = {}
    if start >= 0:
        depth, quote, end = 0, False, start
        for i in range(start, len(text)):
            ch = text[i]
            if ch == '"':
                quote = not quote
            elif not quote:
                if ch in "<{[(":
                    depth += 1
                elif ch in ">}])" and not (ch == ">" and text[i - 1] == "-"):
                    depth -= 1
                    if depth == 0:
                        end = i
                        break
        for entry in split_top(text[start + 2:end - 1]):
            key, _, value = entry.partition(" = ")
            entries[key.strip()] = value.strip()
    op._props = entries
    return entries


def prop(op, key):
    return properties(op).get(key)


# ---------------------------------------------------------------- affine maps

_maps = {}


def compile_map(text, aliases):
    """An affine map as a Python function of the dims -> list of results."""
    text = aliases.get(text, text)
    if text not in _maps:
        m = re.fullmatch(r"affine_map<\(([^)]*)\)(?:\[([^\]]*)\])? -> \((.*)\)>", text)
        if not m:
            raise RuntimeError("unsupported map " + text)
        # Dims, then symbols, as affine.apply takes its operands.
        names = [d.strip() for d in (m.group(1) + "," + (m.group(2) or "")).split(",")
                 if d.strip()]
        results = [re.sub(r"(\([^()]*\)|\w+) ceildiv (\w+)", r"(-((-\1) // \2))", e)
                   .replace("floordiv", "//").replace("mod", "%")
                   for e in split_top(m.group(3))]
        _maps[text] = eval("lambda %s: [%s]" % (", ".join(names) or "*_",
                                               ", ".join(results)),
                           {"__builtins__": {}})
    return _maps[text]


CMPI = {0: lambda a, b: a == b, 1: lambda a, b: a != b,
        2: lambda a, b: a < b, 3: lambda a, b: a <= b,
        4: lambda a, b: a > b, 5: lambda a, b: a >= b,
        6: lambda a, b: a < b, 7: lambda a, b: a <= b,
        8: lambda a, b: a > b, 9: lambda a, b: a >= b}


def cmpf(pred, a, b):
    unordered = math.isnan(a) or math.isnan(b)
    table = {1: a == b, 2: a > b, 3: a >= b, 4: a < b, 5: a <= b,
             6: a != b, 7: True, 8: a == b, 9: a > b, 10: a >= b,
             11: a < b, 12: a <= b, 13: a != b, 14: False, 15: True, 0: False}
    if pred == 0:
        return False
    if pred == 15:
        return True
    if 1 <= pred <= 7:
        return (not unordered) and table[pred]
    return unordered or table[pred]


INT_OPS = {
    "arith.addi": lambda a, b: a + b,
    "arith.subi": lambda a, b: a - b,
    "arith.muli": lambda a, b: a * b,
    "arith.divui": lambda a, b: a // b,
    "arith.remui": lambda a, b: a % b,
    "arith.andi": lambda a, b: a & b,
    "arith.ori": lambda a, b: a | b,
    "arith.xori": lambda a, b: a ^ b,
    "arith.shli": lambda a, b: a << b,
    "arith.shrui": lambda a, b: a >> b,
    "arith.maxui": max,
    "arith.minui": min,
}

def operand_type(op):
    """The type of an op's first operand, from its signature."""
    return op.line[op.line.rfind(": (") + 3:].split(")")[0].split(",")[0].strip()


def signed(v, t):
    w = int_width(t)
    if not w or v < (1 << (w - 1)):
        return v
    return v - (1 << w)


def unsigned(v, t):
    """The bit pattern of an integer of type t (constants are parsed with
    their sign: -8388608 : i32 is 0xff800000)."""
    w = int_width(t)
    return v & ((1 << w) - 1) if w else v


def trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


SIGNED_OPS = {
    "arith.maxsi": max,
    "arith.minsi": min,
    "arith.divsi": trunc_div,
    "arith.remsi": lambda a, b: a - b * trunc_div(a, b),
    "arith.shrsi": lambda a, b: a >> b,
}

FLOAT_OPS = {
    "arith.addf": lambda a, b: a + b,
    "arith.subf": lambda a, b: a - b,
    "arith.mulf": lambda a, b: a * b,
    "arith.divf": lambda a, b: a / b,
}


def global_buffer(op):
    """A memref.global's initial value (dense: a splat or a flat list)."""
    shape, elem = parse_memref(prop(op, "type"))
    init = prop(op, "initial_value")
    m = re.fullmatch(r"dense<(.*)> : tensor<.*>", init or "")
    if not m:
        raise RuntimeError("unsupported global " + op.line)
    text = m.group(1).replace("[", "").replace("]", "")
    values = []
    for v in split_top(text):
        if v in ("true", "false"):
            values.append(1 if v == "true" else 0)
        elif elem in ("f32", "f64"):
            values.append(bits_f32(int(v, 16)) if v.startswith("0x") else f32(float(v)))
        elif elem in FLOAT16:
            values.append(int(v, 16) if v.startswith("0x") else small_float_bits(float(v), elem))
        else:
            values.append(int(v))
    buf = Buffer(shape, elem, 0)
    buf.data = values * len(buf.data) if len(values) == 1 else values
    return buf


class Barrier:
    pass


class Mma:
    def __init__(self, asm, values):
        self.asm, self.values = asm, values


class Interpreter:
    def __init__(self, module, aliases):
        self.aliases = aliases
        self.funcs = {}
        self.globals = {}
        for op in module.regions[0][0].ops:
            if op.name == "func.func":
                self.funcs[prop(op, "sym_name").strip('"')] = op
            elif op.name == "memref.global":
                self.globals[prop(op, "sym_name").strip('"')] = global_buffer(op)

    # Runs `block` (a generator: yields Barrier/Mma, receives mma results);
    # returns the terminator's operand values.
    def run(self, block, env):
        for op in block.ops:
            n = op.name
            if n in ("scf.yield", "linalg.yield", "func.return",
                     "gpu.terminator", "scf.reduce"):
                return [env[o] for o in op.operands]
            if n == "gpu.barrier":
                yield Barrier()
                continue
            if n == "llvm.inline_asm" and prop(op, "asm_string").startswith('"mma'):
                res = yield Mma(prop(op, "asm_string"),
                                [env[o] for o in op.operands])
                env[op.results[0]] = res
                continue
            if n == "nvvm.mma.sync":
                res = yield Mma(nvvm_mma_asm(op), [env[o] for o in op.operands])
                env[op.results[0]] = res
                continue
            if n == "scf.for":
                lb, ub, step = (env[o] for o in op.operands[:3])
                carried = [env[o] for o in op.operands[3:]]
                body = op.regions[0][0]
                inner = dict(env)  # SSA: one scope serves every iteration
                for iv in range(lb, ub, step):
                    inner[body.args[0]] = iv
                    for a, v in zip(body.args[1:], carried):
                        inner[a] = v
                    carried = yield from self.run(body, inner)
                for r, v in zip(op.results, carried):
                    env[r] = v
                continue
            if n == "scf.parallel":
                # Sequentially (intermediate IR of the pipeline, for
                # bisecting; without reductions).
                seg = [int(x) for x in re.search(
                    r"operandSegmentSizes = array<i32: ([^>]*)>",
                    op.props).group(1).split(",")]
                if seg[3]:
                    raise RuntimeError("scf.parallel with reductions")
                r = seg[0]
                vals = [env[o] for o in op.operands]
                lbs, ubs, steps = vals[:r], vals[r:2 * r], vals[2 * r:3 * r]
                body = op.regions[0][0]
                inner = dict(env)

                def nest(d, ivs):
                    if d == r:
                        for a, v in zip(body.args, ivs):
                            inner[a] = v
                        yield from self.run(body, inner)
                        return
                    for iv in range(lbs[d], ubs[d], steps[d]):
                        yield from nest(d + 1, ivs + [iv])
                yield from nest(0, [])
                continue
            if n == "scf.if":
                region = op.regions[0] if env[op.operands[0]] else (
                    op.regions[1] if len(op.regions) > 1 else None)
                vals = []
                if region and region[0]:
                    vals = yield from self.run(region[0], dict(env))
                for r, v in zip(op.results, vals):
                    env[r] = v
                continue
            if n == "gpu.launch":
                self.launch(op, env)
                continue
            for r, v in zip(op.results, self.compute(op, env)):
                env[r] = v
        return []

    def compute(self, op, env):
        n = op.name
        args = [env[o] for o in op.operands]
        rt = op.rtypes[0] if op.rtypes else None
        if n == "arith.constant":
            text = prop(op, "value")
            value, t = text.rsplit(" : ", 1) if " : " in text else (text, "i1")
            value = value.strip()
            if value in ("true", "false"):
                return [1 if value == "true" else 0]
            if t in ("f32", "f64") + FLOAT16:
                if value.startswith("0x"):
                    bits = int(value, 16)
                    if t in FLOAT16:
                        return [bits]
                    return [bits_f32(bits)]
                v = float(value)
                return [small_float_bits(v, t) if t in FLOAT16 else f32(v)]
            return [int(value)]
        if n in INT_OPS:
            t = operand_type(op)
            v = INT_OPS[n](*[unsigned(a, t) for a in args])
            w = int_width(rt)
            return [v & ((1 << w) - 1) if w else v]
        if n == "arith.cmpi":
            pred = int(prop(op, "predicate").split(":")[0])
            if 2 <= pred <= 5:  # signed
                args = [signed(a, operand_type(op)) for a in args]
            else:  # equality and unsigned orders compare bit patterns
                args = [unsigned(a, operand_type(op)) for a in args]
            return [1 if CMPI[pred](*args) else 0]
        if n in SIGNED_OPS:
            t = operand_type(op)
            v = SIGNED_OPS[n](*[signed(a, t) for a in args])
            w = int_width(rt)
            return [v & ((1 << w) - 1) if w else v]
        if n == "arith.extsi":
            v = signed(args[0], operand_type(op))
            w = int_width(rt)
            return [v & ((1 << w) - 1) if w else v]
        if n == "arith.select":
            return [args[1] if args[0] else args[2]]
        if n in ("arith.extui", "arith.index_cast", "arith.index_castui"):
            return [args[0]]
        if n == "arith.trunci":
            return [args[0] & ((1 << int_width(rt)) - 1)]
        if n == "llvm.bitcast":
            # A packed register as the vector<2xf16> nvvm.mma.sync takes:
            # the same bits, which mma() unpacks.
            if operand_type(op) != "i32" or rt != "vector<2xf16>":
                raise RuntimeError("unsupported llvm.bitcast " + op.line)
            return [args[0]]
        if n == "arith.bitcast":
            src = operand_type(op)
            if src == "f32":
                return [f32_bits(args[0])]
            if rt == "f32":
                return [bits_f32(args[0])]
            return [args[0]]  # 16/8-bit floats are kept as bit patterns
        if n in FLOAT_OPS:
            a, b = args
            if rt in FLOAT16:
                raise RuntimeError(n + " on " + rt)
            if math.isnan(a) or math.isnan(b):
                return [math.nan]
            try:
                return [f32(FLOAT_OPS[n](a, b))]
            except (OverflowError, ValueError, ZeroDivisionError):
                if n == "arith.divf" and a and not b:
                    return [math.copysign(math.inf, a) * math.copysign(1, b)]
                return [math.nan]
        if n in ("arith.maximumf", "arith.minimumf"):
            a, b = args
            if math.isnan(a) or math.isnan(b):
                return [math.nan]
            return [max(a, b) if n == "arith.maximumf" else min(a, b)]
        if n in ("arith.maxnumf", "arith.minnumf"):
            a, b = args
            if math.isnan(a):
                return [b]
            if math.isnan(b):
                return [a]
            return [max(a, b) if n == "arith.maxnumf" else min(a, b)]
        if n == "arith.negf":
            return [-args[0]]
        if n == "math.absf":
            return [abs(args[0])]
        if n == "math.roundeven":  # Python's round() breaks ties to even
            x = args[0]
            return [x if math.isnan(x) or math.isinf(x) else math.copysign(round(x), x)]
        if n == "arith.fptosi":  # toward zero; in range wherever AMPC emits it
            return [int(args[0]) & ((1 << int_width(rt)) - 1)]
        if n == "arith.cmpf":
            return [1 if cmpf(int(prop(op, "predicate").split(":")[0]), *args) else 0]
        if n == "arith.extf":
            src = operand_type(op)
            return [small_float_value(args[0], src) if src in FLOAT16 else args[0]]
        if n == "arith.truncf":
            return [small_float_bits(args[0], rt) if rt in FLOAT16 else f32(args[0])]
        if n == "arith.sitofp":
            return [f32(float(signed(args[0], operand_type(op))))]
        if n == "arith.uitofp":
            return [f32(float(args[0]))]
        if n == "llvm.extractvalue":
            pos = int(re.search(r"array<i64: (\d+)>", op.props).group(1))
            return [args[0][pos]]
        if n == "memref.load":
            buf = args[0]
            return [buf.data[buf.offset(args[1:])]]
        if n == "memref.store":
            buf = args[1]
            buf.data[buf.offset(args[2:])] = args[0]
            return []
        if n == "llvm.inline_asm":
            # cvt.rn.satfinite.{e4m3x2,e5m2x2}.f32 d, a, b (PTX ISA): a to the
            # upper byte of d, b to the lower; nearest even, saturated to
            # the largest finite value; NaN gives 0x7F.
            asm = prop(op, "asm_string").strip('"')
            m = re.fullmatch(r"cvt\.rn\.satfinite\.(e4m3|e5m2)x2\.f32 \$0, \$1, \$2;", asm)
            if not m:
                raise RuntimeError("unsupported inline asm " + asm)
            kind = "f8E4M3FN" if m.group(1) == "e4m3" else "f8E5M2"

            def cvt(x):
                return 0x7F if math.isnan(x) else small_float_bits(x, kind)
            return [(cvt(args[0]) << 8) | cvt(args[1])]
        if n == "affine.apply":
            return compile_map(prop(op, "map"), self.aliases)(*args)
        if n in ("math.exp", "math.log", "math.sqrt", "math.tanh", "math.erf",
                 "math.log1p", "math.expm1"):
            x = args[0]
            if math.isnan(x):
                return [math.nan]
            fn = getattr(math, n.split(".")[1])
            try:
                return [f32(fn(x))]
            except OverflowError:
                return [math.inf]
            except ValueError:  # log of a negative number, log(0)
                return [-math.inf if x == 0 else math.nan]
        if n == "memref.get_global":
            return [self.globals[prop(op, "name").lstrip("@")]]
        if n in ("memref.alloc", "memref.alloca"):
            shape, elem = parse_memref(rt)
            return [Buffer(shape, elem)]
        if n == "memref.dealloc":
            return []
        if n == "memref.extract_aligned_pointer_as_index":
            # The allocation's identity: views of one buffer share it.
            return [id(args[0].data)]
        if n == "math.fma":  # a * b is exact in a double; rounded twice, not once
            a, b, c = args
            return [f32(a * b + c)]
        if n == "math.rsqrt":
            x = args[0]
            if math.isnan(x) or x < 0:
                return [math.nan]
            return [math.inf if x == 0 else f32(1 / math.sqrt(x))]
        if n in ("math.powf",):
            try:
                return [f32(math.pow(*args))]
            except (OverflowError, ValueError):
                return [math.nan]
        if n == "memref.copy" or n == "linalg.copy":
            src, dst = args
            for idx in list(src.indices()):
                dst.data[dst.offset(idx)] = src.data[src.offset(idx)]
            return []
        if n == "linalg.fill":
            out = args[1]
            for idx in out.indices():
                out.data[out.offset(idx)] = args[0]
            return []
        if n in ("memref.collapse_shape", "memref.expand_shape",
                 "memref.reshape", "memref.cast"):
            src = args[0]
            shape, _ = parse_memref(rt)
            expected = Buffer(src.shape, src.elem, 0).strides
            if src.strides != expected:
                raise RuntimeError(n + " of a non-contiguous view")
            v = Buffer(shape, src.elem, 0)
            v.data, v.base = src.data, src.base
            return [v]
        if n == "memref.subview":
            seg = [int(x) for x in re.search(
                r"operandSegmentSizes = array<i32: ([^>]*)>", op.props).group(1).split(",")]
            dyn = iter(args[1:])
            dynamic = -9223372036854775808

            def values(key):
                text = prop(op, key)
                nums = re.search(r"array<i64(?:: ([^>]*))?>", text).group(1) or ""
                return [next(dyn) if int(x) == dynamic else int(x)
                        for x in nums.split(",") if x.strip()]
            offsets, sizes, strides = (values("static_offsets"), values("static_sizes"),
                                       values("static_strides"))
            shape, _ = parse_memref(rt)
            return [args[0].view(offsets, sizes, strides, shape)]
        if n == "linalg.generic":
            self.generic(op, args, env)
            return []
        raise RuntimeError("unsupported op " + n)

    def generic(self, op, args, outer):
        maps = [m.strip() for m in split_top(prop(op, "indexing_maps")[1:-1])]
        body = op.regions[0][0]
        # Loop ranges: from the operands' shapes, through the first map that
        # names the loop as a plain dim.
        first = self.aliases.get(maps[0], maps[0])
        dims = re.match(r"affine_map<\(([^)]*)\)", first).group(1)
        nloops = len([d for d in dims.split(",") if d.strip()])
        sizes = [None] * nloops
        for m, a in zip(maps, args):
            text = self.aliases.get(m, m)
            res = split_top(re.fullmatch(r"affine_map<\([^)]*\) -> \((.*)\)>",
                                         text).group(1))
            for r, e in enumerate(res):
                dm = re.fullmatch(r"d(\d+)", e.strip())
                if dm and isinstance(a, Buffer) and sizes[int(dm.group(1))] is None:
                    sizes[int(dm.group(1))] = a.shape[r]
        nin = int(re.search(r"operandSegmentSizes = array<i32: (\d+)",
                            op.props).group(1))
        # linalg.index ops are bound per iteration; the rest is run as is.
        indices = [o for o in body.ops if o.name == "linalg.index"]
        block = Block(body.args, body.types)
        block.ops = [o for o in body.ops if o.name != "linalg.index"]
        env = dict(outer)

        def loops(prefix):
            if len(prefix) == nloops:
                yield prefix
                return
            for i in range(sizes[len(prefix)]):
                yield from loops(prefix + [i])
        fns = [compile_map(m, self.aliases) for m in maps]
        for ivs in loops([]):
            places = []
            for i, (fn, a) in enumerate(zip(fns, args)):
                if isinstance(a, Buffer):
                    idx = fn(*ivs)
                    env[body.args[i]] = a.data[a.offset(idx)]
                    places.append((a, idx))
                else:
                    env[body.args[i]] = a
                    places.append(None)
            for o in indices:
                env[o.results[0]] = ivs[int(prop(o, "dim").split(":")[0])]
            vals = drive(self.run(block, env))
            for (a, idx), v in zip(places[nin:], vals):
                a.data[a.offset(idx)] = v

    def launch(self, op, env):
        grid = [env[o] for o in op.operands[0:3]]
        threads = [env[o] for o in op.operands[3:6]]
        body = op.regions[0][0]
        extra = body.args[12:]
        for bz in range(grid[2]):
            for by in range(grid[1]):
                for bx in range(grid[0]):
                    shared = {}
                    for a, t in zip(extra, body.types[12:]):
                        shape, elem = parse_memref(t)
                        shared[a] = Buffer(shape, elem)
                    gens = []
                    for tz in range(threads[2]):
                        for ty in range(threads[1]):
                            for tx in range(threads[0]):
                                e = dict(env)
                                vals = [bx, by, bz, tx, ty, tz] + grid + threads
                                for a, v in zip(body.args[:12], vals):
                                    e[a] = v
                                e.update(shared)
                                gens.append(self.run(body, e))
                    schedule(gens)


def drive(gen):
    """Runs a generator that must not block (host code, linalg bodies)."""
    try:
        ev = next(gen)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("barrier or mma outside a kernel: %r" % ev)


def nvvm_mma_asm(op):
    """The PTX instruction an nvvm.mma.sync stands for (row.col, f32
    accumulators), spelled as the inline-asm form that mma() reads."""
    shape = re.search(r"m = (\d+), n = (\d+), k = (\d+)", prop(op, "shape"))
    if not shape or shape.groups()[:2] != ("16", "8"):
        raise RuntimeError("unsupported nvvm.mma.sync shape " + prop(op, "shape"))
    types = []
    for key in ("multiplicandAPtxType", "multiplicandBPtxType"):
        if prop(op, key):
            types.append(re.search(r"<(\w+)>", prop(op, key)).group(1))
        elif "(vector<2xf16>, vector<2xf16>, f32)" in op.line:
            types.append("f16")  # inferred from the operands, not printed
        else:
            raise RuntimeError("nvvm.mma.sync without operand types: " + op.line)
    if prop(op, "layoutA") != "#nvvm.mma_layout<row>" or \
            prop(op, "layoutB") != "#nvvm.mma_layout<col>":
        raise RuntimeError("unsupported nvvm.mma.sync layout")
    return ('"mma.sync.aligned.m16n8k%s.row.col.f32.%s.%s.f32 '
            '{$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, '
            '{$10, $11, $12, $13};"' % (shape.group(3), types[0], types[1]))


def mma(asm, lanes):
    """mma.sync on 32 lanes' operands -> each lane's 4 results."""
    asm = asm.strip('"')
    m = re.fullmatch(r"mma\.sync\.aligned\.m16n8k(\d+)\.row\.col\.f32\.(\w+)\.(\w+)\.f32 "
                     r"\{\$0, \$1, \$2, \$3\}, \{\$4, \$5, \$6, \$7\}, \{\$8, \$9\}, "
                     r"\{\$10, \$11, \$12, \$13\};", asm)
    if not m:
        raise RuntimeError("unsupported inline asm " + asm)
    k, ta, tb = int(m.group(1)), m.group(2), m.group(3)
    kinds = {"bf16": "bf16", "f16": "f16", "e4m3": "f8E4M3FN", "e5m2": "f8E5M2"}
    per = 2 if k == 16 else 4
    width = 32 // per
    A = [[0.0] * k for _ in range(16)]
    B = [[0.0] * 8 for _ in range(k)]
    C = [[0.0] * 8 for _ in range(16)]

    def unpack(reg, kind):
        return [small_float_value((reg >> (width * i)) & ((1 << width) - 1), kinds[kind])
                for i in range(per)]
    half = k // 2
    for lane, v in enumerate(lanes):
        g, t = lane // 4, lane % 4
        a, b, c = v[0:4], v[4:6], v[6:10]
        for r, (row, col) in enumerate([(g, per * t), (g + 8, per * t),
                                        (g, per * t + half), (g + 8, per * t + half)]):
            for i, x in enumerate(unpack(a[r], ta)):
                A[row][col + i] = x
        for r, krow in enumerate([per * t, per * t + half]):
            for i, x in enumerate(unpack(b[r], tb)):
                B[krow + i][g] = x
        C[g][2 * t], C[g][2 * t + 1] = c[0], c[1]
        C[g + 8][2 * t], C[g + 8][2 * t + 1] = c[2], c[3]
    out = []
    for lane in range(32):
        g, t = lane // 4, lane % 4
        vals = []
        for row, col in [(g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1)]:
            s = C[row][col] + math.fsum(A[row][i] * B[i][col] for i in range(k))
            vals.append(f32(s))
        out.append(vals)
    return out


def schedule(gens):
    """Runs a block's threads until all finish."""
    n = len(gens)
    state = [None] * n  # None: runnable; Barrier; Mma; "done"
    send = [None] * n
    while True:
        for i in range(n):
            while state[i] is None:
                try:
                    ev = gens[i].send(send[i]) if send[i] is not None else next(gens[i])
                except StopIteration:
                    state[i] = "done"
                    break
                send[i] = None
                state[i] = ev
        live = [i for i in range(n) if state[i] != "done"]
        if not live:
            return
        if all(isinstance(state[i], Barrier) for i in live):
            if len(live) != n:
                raise RuntimeError("barrier with exited threads")
            for i in live:
                state[i] = None
            continue
        progressed = False
        for w in range(0, n, 32):
            lanes = list(range(w, min(w + 32, n)))
            if len(lanes) == 32 and all(isinstance(state[i], Mma) for i in lanes):
                asm = state[lanes[0]].asm
                if any(state[i].asm != asm for i in lanes):
                    raise RuntimeError("lanes of a warp at different mma")
                res = mma(asm, [state[i].values for i in lanes])
                for i, r in zip(lanes, res):
                    state[i] = None
                    send[i] = tuple(r)
                progressed = True
        if not progressed:
            raise RuntimeError("deadlock: threads wait at %s" %
                               sorted({type(state[i]).__name__ for i in live}))


# ---------------------------------------------------------------- driver

def random_buffer(t, rng):
    shape, elem = parse_memref(t)
    buf = Buffer(shape, elem, 0)
    for i in range(len(buf.data)):
        x = rng.uniform(-2, 2)
        if elem in FLOAT16:
            if elem.startswith("f8"):
                x = rng.uniform(-8, 8)
            buf.data[i] = small_float_bits(x, elem)
        elif elem in ("f32", "f64"):
            buf.data[i] = f32(x)
        else:
            buf.data[i] = rng.randrange(0, 2 if elem == "i1" else 4)
    return buf


def value_of(buf, i):
    v = buf.data[i]
    return small_float_value(v, buf.elem) if buf.elem in FLOAT16 else v


def main(argv):
    seed = 1
    if "--seed" in argv:
        seed = int(argv[argv.index("--seed") + 1])
    # Relative tolerance of f32 results (low-precision intermediates can
    # round the other way when f32 sums are added in another order).
    tolerance = 1e-5
    if "--tolerance" in argv:
        tolerance = float(argv[argv.index("--tolerance") + 1])
    def module_text(path):
        # A file of -mlir-print-ir-after dumps: the last one.
        text = open(path).read()
        marker = "// -----// IR Dump"
        if marker in text:
            text = text[text.rindex(marker):].split("\n", 1)[1]
        return text
    parsers = [Parser(module_text(p)) for p in argv[1:3]]
    modules = [p.module() for p in parsers]
    interps = [Interpreter(m, p.aliases) for m, p in zip(modules, parsers)]
    failed = False
    for name, func in interps[0].funcs.items():
        body = func.regions[0][0]
        outputs = []
        for interp in interps:
            f = interp.funcs[name].regions[0][0]
            rng = random.Random(seed)
            args = []
            for t in f.types:
                if t.startswith("memref<"):
                    args.append(random_buffer(t, rng))
                elif t in ("f32",):
                    args.append(f32(rng.uniform(0.5, 2)))
                elif t in FLOAT16:
                    args.append(small_float_bits(rng.uniform(-2, 2), t))
                else:
                    args.append(rng.randrange(1, 4))
            env = dict(zip(f.args, args))
            returned = drive(interp.run(f, env))
            # Returned scalars are compared as one-element buffers.
            rtypes = result_types(interp.funcs[name].props.split("sym_name")[0])
            results = []
            for r, t in zip(returned, rtypes + [None] * len(returned)):
                if not isinstance(r, Buffer):
                    one = Buffer([], t if t in ("f32", "f64") + FLOAT16 else "i64", 0)
                    one.data = [r]
                    r = one
                results.append(r)
            outputs.append([a for a in args if isinstance(a, Buffer)] + results)
        ref, got = outputs
        worst, count, nans, problem = 0.0, 0, 0, None
        for b, (x, y) in enumerate(zip(ref, got)):
            tol = max(2.0 ** -7, tolerance) if x.elem in FLOAT16 else tolerance
            for i in range(len(x.data)):
                u, v = value_of(x, i), value_of(y, i)
                count += 1
                if isinstance(u, int) and not isinstance(u, bool) and x.elem not in ("f32", "f64"):
                    if u != v and problem is None:
                        problem = "buffer %d element %d: %r, expected %r" % (b, i, v, u)
                    continue
                if math.isnan(u) or math.isnan(v):
                    if not (math.isnan(u) and math.isnan(v)) and problem is None:
                        problem = "buffer %d element %d: %r, expected %r" % (b, i, v, u)
                    nans += 1
                    continue
                err = abs(u - v) / (1 + abs(u))
                worst = max(worst, err)
                if err > tol and problem is None:
                    problem = "buffer %d element %d: %r, expected %r" % (b, i, v, u)
        if len(ref) != len(got):
            problem = "%d buffers, expected %d" % (len(got), len(ref))
        if problem:
            failed = True
            print("@%s: MISMATCH %s" % (name, problem))
        else:
            print("@%s: %d buffers match (%d elements, %d NaN in both, max "
                  "relative error %.1e)" % (name, len(ref), count, nans, worst))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
