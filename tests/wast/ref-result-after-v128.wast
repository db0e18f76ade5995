;; A reference result comes back in the slot that held a v128 argument:
;; only the reference's own bytes decide the outcome (smelt wast once
;; compared all 16 bytes, so that this script's right assertion failed and
;; a wrong one, `(ref.func)`, passed; issue 19).
(module
  (func (export "null") (param v128) (result funcref) ref.null func)
  (func $f)
  (elem declare func $f)
  (func (export "func") (param v128) (result funcref) ref.func $f)
  (func (export "extern") (param v128 externref) (result externref) local.get 1))
(assert_return (invoke "null" (v128.const i64x2 0 1)) (ref.null func))
(assert_return (invoke "func" (v128.const i64x2 0 -1)) (ref.func))
(assert_return (invoke "extern" (v128.const i64x2 0 -1) (ref.extern 7)) (ref.extern 7))
(assert_return (invoke "extern" (v128.const i64x2 0 -1) (ref.null extern)) (ref.null extern))
