;; The collector at work: every test allocates far more than the heap's
;; budget between two collections (8 MiB), so objects move many times, and
;; checks afterwards that what was live is intact, wherever the references
;; to it were: locals and operands across calls, deep recursion, globals,
;; tables, element segments, struct fields, arrays, exception payloads,
;; constant expressions of globals. Values that are not objects (i31, host
;; references, function references) sit next to them and must survive
;; untouched.

(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))
  (type $box (struct (field $v (mut i32))))
  (type $boxes (array (mut (ref null $box))))
  (type $bytes (array (mut i8)))
  (type $anys (array (mut anyref)))
  (type $fn (func (result i32)))
  (type $holder (struct (field $f (ref null $fn)) (field $e externref) (field $b (ref null $box))))
  (tag $exn (param (ref $box) i32))

  (global $kept (mut (ref null $box)) (ref.null $box))
  (table $t 4 anyref)
  (elem $seg (ref null $box) (item (struct.new $box (i32.const 11))) (item (struct.new $box (i32.const 12))))

  ;; Garbage: a tree of 2^(d+1) - 1 nodes (24 bytes each).
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
  ;; Allocates about `mb` MiB of garbage.
  (func $churn (param $mb i32)
    (loop $l
      (drop (call $tree (i32.const 15)))
      (br_if $l (local.tee $mb (i32.sub (local.get $mb) (i32.const 1))))))

  ;; A long-lived tree survives many collections of short-lived ones.
  (func (export "binary-trees") (param $iters i32) (result i32)
    (local $long (ref null $node)) (local $sum i32)
    (local.set $long (call $tree (i32.const 16)))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $count (call $tree (i32.const 14)))))
      (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
    (i32.add (local.get $sum) (call $count (local.get $long))))

  ;; Boxes held by 1000 frames of recursion, each allocating in between.
  (func $deep (param $d i32) (result i32)
    (local $b (ref $box))
    (local.set $b (struct.new $box (local.get $d)))
    (if (i32.eqz (i32.rem_u (local.get $d) (i32.const 100))) (then (call $churn (i32.const 2))))
    (if (result i32) (i32.eqz (local.get $d))
      (then (struct.get $box $v (local.get $b)))
      (else (i32.add (struct.get $box $v (local.get $b))
                     (call $deep (i32.sub (local.get $d) (i32.const 1)))))))
  (func (export "deep") (result i32) (call $deep (i32.const 1000)))

  ;; An operand below a call that collects stays valid.
  (func $five (result i32) (call $churn (i32.const 20)) (i32.const 5))
  (func (export "operand") (result i32)
    (struct.get $box $v (struct.new $box (i32.const 37)))
    (struct.get $box $v (struct.new $box (call $five)))
    (i32.add))

  ;; A global, a table, an element segment and an array hold objects.
  (func (export "roots") (result i32)
    (local $arr (ref $boxes)) (local $i i32) (local $sum i32)
    (global.set $kept (struct.new $box (i32.const 1000)))
    (table.set $t (i32.const 0) (struct.new $box (i32.const 2000)))
    (table.set $t (i32.const 1) (ref.i31 (i32.const 3000)))
    (local.set $arr (array.new_default $boxes (i32.const 100)))
    (loop $fill
      (array.set $boxes (local.get $arr) (local.get $i) (struct.new $box (local.get $i)))
      (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (call $churn (i32.const 40))
    (local.set $i (i32.const 0))
    (loop $sum
      (local.set $sum (i32.add (local.get $sum)
        (struct.get $box $v (array.get $boxes (local.get $arr) (local.get $i)))))
      (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
    (local.set $arr (array.new_elem $boxes $seg (i32.const 0) (i32.const 2)))
    (i32.add (local.get $sum)
      (i32.add (struct.get $box $v (global.get $kept))
        (i32.add (struct.get $box $v (ref.cast (ref $box) (table.get $t (i32.const 0))))
          (i32.add (i31.get_u (ref.cast (ref i31) (table.get $t (i32.const 1))))
            (i32.add (struct.get $box $v (array.get $boxes (local.get $arr) (i32.const 0)))
                     (struct.get $box $v (array.get $boxes (local.get $arr) (i32.const 1)))))))))

  ;; Objects and non-objects side by side in an array of anyref and in a
  ;; struct with a function reference and a host reference.
  (func $seven (type $fn) (i32.const 7))
  (elem declare func $seven)
  (func (export "mixed") (param $host externref) (result i32 externref)
    (local $a (ref $anys)) (local $h (ref $holder))
    (local.set $a (array.new_fixed $anys 4
      (ref.i31 (i32.const -5)) (any.convert_extern (local.get $host))
      (struct.new $box (i32.const 9)) (array.new $bytes (i32.const 3) (i32.const 10))))
    (local.set $h (struct.new $holder (ref.func $seven) (local.get $host) (struct.new $box (i32.const 4))))
    (call $churn (i32.const 20))
    (i31.get_s (ref.cast (ref i31) (array.get $anys (local.get $a) (i32.const 0))))
    (struct.get $box $v (ref.cast (ref $box) (array.get $anys (local.get $a) (i32.const 2))))
    (i32.add)
    (array.get_u $bytes (ref.cast (ref $bytes) (array.get $anys (local.get $a) (i32.const 3))) (i32.const 9))
    (i32.add)
    (call_ref $fn (struct.get $holder $f (local.get $h)))
    (i32.add)
    (struct.get $box $v (struct.get $holder $b (local.get $h)))
    (i32.add)
    (extern.convert_any (array.get $anys (local.get $a) (i32.const 1))))

  ;; An exception's payload while the handler allocates.
  (func $throw (param i32) (throw $exn (struct.new $box (local.get 0)) (local.get 0)))
  (func (export "exception") (result i32)
    (local $b (ref null $box))
    (block $h (result (ref $box) i32)
      (try_table (catch $exn $h) (call $throw (i32.const 21)))
      (unreachable))
    (call $churn (i32.const 20))
    (drop)
    (local.set $b)
    (call $churn (i32.const 20))
    (struct.get $box $v (local.get $b)))

  ;; A caught exception reference kept across collections and rethrown.
  (func (export "exnref") (result i32)
    (local $e exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $throw (i32.const 33)))
      (unreachable))
    (local.set $e)
    (call $churn (i32.const 20))
    (block $h2 (result (ref $box) i32)
      (try_table (catch $exn $h2) (throw_ref (local.get $e)))
      (unreachable))
    (drop)
    (struct.get $box $v))
)

(assert_return (invoke "binary-trees" (i32.const 200)) (i32.const 6684471))
(assert_return (invoke "deep") (i32.const 500500))
(assert_return (invoke "operand") (i32.const 42))
(assert_return (invoke "roots") (i32.const 10973))
(assert_return (invoke "mixed" (ref.extern 77)) (i32.const 18) (ref.extern 77))
(assert_return (invoke "exception") (i32.const 21))
(assert_return (invoke "exnref") (i32.const 33))

;; Globals whose constant expressions allocate more than the budget: the
;; instantiation collects while earlier globals are live.
(module
  (type $box (struct (field i32)))
  (type $big (array i64))
  (type $pair (struct (field (ref $box)) (field (ref $big))))
  (global $a (ref $box) (struct.new $box (i32.const 7)))
  (global $b1 (ref $big) (array.new $big (i64.const 3) (i32.const 2000000)))
  (global $b2 (ref $big) (array.new_default $big (i32.const 2000000)))
  (global $p (ref $pair)
    (struct.new $pair (global.get $a) (array.new $big (i64.const 9) (i32.const 2000000))))
  (global $b3 (ref $big) (array.new_default $big (i32.const 2000000)))
  (func (export "check") (result i32 i64 i64)
    (struct.get $box 0 (global.get $a))
    (struct.get $box 0 (struct.get $pair 0 (global.get $p)))
    (i32.add)
    (array.get $big (global.get $b1) (i32.const 1999999))
    (array.get $big (struct.get $pair 1 (global.get $p)) (i32.const 1234567)))
)

(assert_return (invoke "check") (i32.const 14) (i64.const 3) (i64.const 9))
