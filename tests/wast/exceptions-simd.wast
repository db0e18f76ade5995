;; A `v128` in an exception's payload: 16-byte aligned in the exception
;; object, between scalars.

(module
  (tag $e (param i32 v128 i64))
  (func $throw (param i32)
    (throw $e (local.get 0) (v128.const i32x4 1 2 3 4) (i64.const -7)))
  (func (export "catch") (param i32) (result i32 v128 i64)
    (block $h (result i32 v128 i64)
      (try_table (catch $e $h) (call $throw (local.get 0)))
      (unreachable)))
)

(assert_return (invoke "catch" (i32.const 5))
  (i32.const 5) (v128.const i32x4 1 2 3 4) (i64.const -7))
