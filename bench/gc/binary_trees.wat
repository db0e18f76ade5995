;; binary-trees (the Computer Language Benchmarks Game's), in WebAssembly
;; GC: trees of struct nodes built and walked, depth MAX (substituted by
;; bench/gc/run.py). A stretch tree of depth MAX + 1, a long-lived tree of
;; depth MAX that stays live throughout, and for each depth d = 4, 6, ...,
;; MAX, 2^(MAX - d + 4) trees of depth d built, checked and dropped. Every
;; check is compared with its known count: a wrong one traps.
(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))

  (func $tree (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node
        (call $tree (i32.sub (local.get $d) (i32.const 1)))
        (call $tree (i32.sub (local.get $d) (i32.const 1)))))))

  (func $check (param $n (ref $node)) (result i32)
    (local $l (ref null $node))
    (local.set $l (struct.get $node $l (local.get $n)))
    (if (result i32) (ref.is_null (local.get $l))
      (then (i32.const 1))
      (else (i32.add (i32.const 1)
        (i32.add (call $check (ref.as_non_null (local.get $l)))
                 (call $check (ref.as_non_null (struct.get $node $r (local.get $n)))))))))

  ;; Nodes of a tree of depth d.
  (func $nodes (param $d i32) (result i32)
    (i32.sub (i32.shl (i32.const 2) (local.get $d)) (i32.const 1)))

  (func (export "_start")
    (local $long (ref null $node)) (local $d i32) (local $iters i32) (local $i i32) (local $sum i32)
    (if (i32.ne (call $check (call $tree (i32.const MAX_PLUS_ONE)))
                (call $nodes (i32.const MAX_PLUS_ONE)))
      (then unreachable))
    (local.set $long (call $tree (i32.const MAX)))
    (local.set $d (i32.const 4))
    (loop $depths
      (local.set $iters (i32.shl (i32.const 1) (i32.add (i32.sub (i32.const MAX) (local.get $d)) (i32.const 4))))
      (local.set $i (i32.const 0))
      (local.set $sum (i32.const 0))
      (loop $trees
        (local.set $sum (i32.add (local.get $sum) (call $check (call $tree (local.get $d)))))
        (br_if $trees (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $iters))))
      (if (i32.ne (local.get $sum) (i32.mul (local.get $iters) (call $nodes (local.get $d))))
        (then unreachable))
      (br_if $depths (i32.le_u (local.tee $d (i32.add (local.get $d) (i32.const 2))) (i32.const MAX))))
    (if (i32.ne (call $check (ref.as_non_null (local.get $long))) (call $nodes (i32.const MAX)))
      (then unreachable)))
)
