#!/usr/bin/env python3
"""Writes a large core module (WAT) to stdout, for measuring compile time:
N functions of ~120 i64 operations and branches each, every one calling the
previous. Usage: python3 bench/gen-large-module.py 6000 > big.wat, then
`wasm-tools parse big.wat -o big.wasm` and
`RAYON_NUM_THREADS=1 smelt build big.wasm -o big.o --emit obj`."""
import random, sys
random.seed(1)
n = int(sys.argv[1])
out = ['(module', '(memory 1)', '(global $g (mut i64) (i64.const 1))']
for i in range(n):
    body = ['(local $a i64) (local $b i64) (local.set $a (local.get 0))']
    for k in range(40):
        op = random.choice(['i64.add', 'i64.mul', 'i64.xor', 'i64.sub', 'i64.rotl'])
        body.append(f'(local.set $b ({op} (local.get $a) (i64.const {random.randrange(1, 1<<40)})))')
        body.append(f'(if (i64.gt_u (local.get $b) (i64.const {random.randrange(1<<60)})) (then (local.set $a (i64.add (local.get $a) (local.get $b)))) (else (i64.store (i32.const {8*(k%100)}) (local.get $b))))')
    if i > 0:
        body.append(f'(local.set $a (i64.add (local.get $a) (call $f{i-1} (local.get $b))))')
    body.append('(local.get $a)')
    out.append(f'(func $f{i} (param i64) (result i64) ' + ' '.join(body) + ')')
out.append(f'(func (export "_start") (global.set $g (call $f{n-1} (i64.const 7))))')
out.append(')')
print('\n'.join(out))
