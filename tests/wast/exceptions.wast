;; Exception handling beyond the specification scripts: exceptions that
;; cross indirect calls, `call_ref`, tail calls and instances, payloads of
;; every scalar and reference type (`exceptions-simd.wast` has `v128`), exception references kept in globals and tables, and
;; handlers that run many times (the stack pointer of a frame that catches
;; must be restored exactly, or a loop of throws would exhaust the stack).

(module $lib
  (type $idt (func (param i32) (result i32)))
  (tag $e (export "e") (param i32))
  (tag $big (export "big") (param i32 i64 f32 f64 (ref null $idt)))
  (func (export "throw-e") (param i32) (throw $e (local.get 0)))
  (func (export "throw-big") (param i32)
    (throw $big
      (local.get 0) (i64.const -2) (f32.const 1.5) (f64.const -0.25) (ref.func $id)))
  (func $id (param i32) (result i32) (local.get 0))
  (elem declare func $id)
)
(register "lib" $lib)

(module
  (type $id_t (func (param i32) (result i32)))
  (import "lib" "e" (tag $e (param i32)))
  (import "lib" "big" (tag $big (param i32 i64 f32 f64 (ref null $id_t))))
  (import "lib" "throw-e" (func $throw-e (param i32)))
  (import "lib" "throw-big" (func $throw-big (param i32)))
  (tag $local (param i64))
  (type $v (func (param i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $throw-e $thrower)
  (global $kept (mut exnref) (ref.null exn))
  (table $exns 1 exnref)

  (func $thrower (param i32) (throw $local (i64.extend_i32_u (local.get 0))))

  ;; Many parameters: some are passed on the stack, which the callee of
  ;; the tail convention pops, and the catching frame must still find its
  ;; own stack where it left it.
  (func $many (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (if (i32.eq (local.get 13) (i32.const 7)) (then (call $throw-e (local.get 0)))))

  (func (export "indirect") (param i32 i32) (result i64)
    (block $h (result i32)
      (block $l (result i64)
        (try_table (catch $e $h) (catch $local $l)
          (call_indirect $t (type $v) (local.get 0) (local.get 1)))
        (return (i64.const -1)))
      (return))
    (i64.extend_i32_u))

  (func (export "call-ref") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call_ref $v (local.get 0) (ref.func $throw-e)))
      (i32.const -1)))
  (elem declare func $throw-e)

  (func $tail (param i32) (return_call $throw-e (local.get 0)))
  (func (export "tail-callee") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $tail (local.get 0)))
      (i32.const -1)))

  (func (export "big") (result i32 i64 f32 f64 i32)
    (local $f (ref null $id_t))
    (block $h (result i32 i64 f32 f64 (ref null $id_t))
      (try_table (catch $big $h) (call $throw-big (i32.const 9)))
      (unreachable))
    (local.set $f)
    (ref.is_null (local.get $f))
    (i32.eqz)
    (if (param i32 i64 f32 f64) (result i32 i64 f32 f64 i32)
      (then (call_ref $id_t (i32.const 5) (local.get $f)))
      (else (i32.const -1))))

  (func (export "many") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $many (local.get 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
          (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9)
          (i32.const 10) (i32.const 11) (i32.const 12) (i32.const 7)))
      (i32.const -1)))

  ;; A million throws caught in a loop.
  (func (export "loop") (param i32) (result i32)
    (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $e $h) (call $throw-e (local.get 0)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get $sum))

  ;; Recursion 1000 deep, caught at the bottom frame.
  (func $deep (param i32)
    (if (local.get 0)
      (then (call $deep (i32.sub (local.get 0) (i32.const 1))))
      (else (throw $e (i32.const 77)))))
  (func (export "deep") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $deep (i32.const 1000)))
      (i32.const -1)))

  ;; An exception kept in a global and in a table, thrown again later.
  (func (export "keep") (param i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $throw-e (local.get 0)))
      (unreachable))
    (global.set $kept)
    (table.set $exns (i32.const 0) (global.get $kept)))
  (func (export "rethrow-kept") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw_ref (table.get $exns (i32.const 0))))
      (i32.const -1)))
  (func (export "throw-null") (throw_ref (ref.null exn)))
)

(assert_return (invoke "indirect" (i32.const 3) (i32.const 0)) (i64.const 3))
(assert_return (invoke "indirect" (i32.const 4) (i32.const 1)) (i64.const 4))
(assert_trap (invoke "indirect" (i32.const 4) (i32.const 2)) "undefined element")
(assert_return (invoke "call-ref" (i32.const 8)) (i32.const 8))
(assert_return (invoke "tail-callee" (i32.const 6)) (i32.const 6))
(assert_return (invoke "big")
  (i32.const 9) (i64.const -2) (f32.const 1.5) (f64.const -0.25) (i32.const 5))
(assert_return (invoke "many" (i32.const 12)) (i32.const 12))
(assert_return (invoke "loop" (i32.const 1000000)) (i32.const 1784293664))
(assert_return (invoke "deep") (i32.const 77))
(assert_return (invoke "keep" (i32.const 31)))
(assert_return (invoke "rethrow-kept") (i32.const 31))
(assert_return (invoke "rethrow-kept") (i32.const 31))
(assert_trap (invoke "throw-null") "null exception reference")

;; The legacy instructions interleave with `try_table`: a `delegate` to a
;; `try_table`'s label, and a `rethrow` caught by an enclosing `try_table`.
(module
  (tag $e (param i32))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func (export "delegate-to-try-table") (result i32)
    (block $h (result i32)
      (try_table $outer (catch $e $h)
        (try (do (call $throw (i32.const 3))) (delegate $outer)))
      (i32.const -1)))
  (func (export "rethrow-to-try-table") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (try (do (call $throw (i32.const 4)))
          (catch $e (drop) (rethrow 0))))
      (i32.const -1)))
)

(assert_return (invoke "delegate-to-try-table") (i32.const 3))
(assert_return (invoke "rethrow-to-try-table") (i32.const 4))
