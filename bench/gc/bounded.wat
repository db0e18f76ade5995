;; Bounded memory under a long allocation: a tree of depth LIVE (2^(LIVE+1)
;; - 1 nodes of 24 bytes: 100 MiB for LIVE = 21) stays live while ITERS
;; trees of depth 16 (3 MiB each: 10 GiB for ITERS = 3300) are built,
;; counted and dropped (values substituted by bench/gc/run.py). Every count
;; is checked: a wrong one traps.
(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))
  (func $tree (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node
        (call $tree (i32.sub (local.get $d) (i32.const 1)))
        (call $tree (i32.sub (local.get $d) (i32.const 1)))))))
  (func $count (param $n (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1)
        (i32.add (call $count (struct.get $node $l (local.get $n)))
                 (call $count (struct.get $node $r (local.get $n))))))))
  (func (export "_start")
    (local $long (ref null $node)) (local $i i32)
    (local.set $long (call $tree (i32.const LIVE)))
    (loop $l
      (if (i32.ne (call $count (call $tree (i32.const 16))) (i32.const 131071))
        (then unreachable))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (i32.const ITERS))))
    (if (i32.ne (call $count (local.get $long))
                (i32.sub (i32.shl (i32.const 2) (i32.const LIVE)) (i32.const 1)))
      (then unreachable)))
)
