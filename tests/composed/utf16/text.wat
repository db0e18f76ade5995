;; The UTF-16 half of smelt's composed-components test: a core module that
;; implements `smelt-test:pair/text` (../wit/library.wit) over strings in
;; UTF-16. `build.sh` makes it a component with
;;   wasm-tools component embed --encoding utf16 --world utf16-provider
;;   wasm-tools component new
;; so that its canonical options say `string-encoding=utf16`, and composes
;; it with `app`, whose strings are UTF-8: each string crossing between the
;; two is transcoded by the fused adapter.
;;
;; Memory is a bump allocator that never frees: `cabi_realloc` shrinks in
;; place and grows by copying to a fresh block.
(module
  (memory (export "memory") 1)
  ;; The first free byte.
  (global $next (mut i32) (i32.const 1024))
  ;; How many times `cabi_post_...#upper` has run.
  (global $posts (mut i32) (i32.const 0))

  ;; A fresh block of `size` bytes aligned to `align` (a power of two).
  (func $alloc (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add
                    (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16)))
                    (i32.const 0xffff))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $next (local.get $end))
    (local.get $ptr))

  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
    (result i32)
    (local $new i32)
    (if (i32.and
          (i32.ne (local.get $old) (i32.const 0))
          (i32.le_u (local.get $new_size) (local.get $old_size)))
      (then (return (local.get $old))))
    (local.set $new (call $alloc (local.get $align) (local.get $new_size)))
    (if (i32.ne (local.get $old) (i32.const 0))
      (then (memory.copy (local.get $new) (local.get $old) (local.get $old_size))))
    (local.get $new))

  ;; upper: (ptr, units) -> pointer to (ptr, units) of the result.
  (func (export "smelt-test:pair/text#upper") (param $src i32) (param $units i32) (result i32)
    (local $dst i32) (local $i i32) (local $c i32) (local $ret i32)
    (local.set $dst (call $alloc (i32.const 2) (i32.shl (local.get $units) (i32.const 1))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $units)))
        (local.set $c
          (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 0x61)) (i32.const 26))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 0x20)))))
        (i32.store16
          (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (local.get $c))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (local.set $ret (call $alloc (i32.const 4) (i32.const 8)))
    (i32.store (local.get $ret) (local.get $dst))
    (i32.store offset=4 (local.get $ret) (local.get $units))
    (local.get $ret))

  (func (export "cabi_post_smelt-test:pair/text#upper") (param i32)
    (global.set $posts (i32.add (global.get $posts) (i32.const 1))))

  (func (export "smelt-test:pair/text#units") (param $src i32) (param $units i32) (result i32)
    (local.get $units))

  (func (export "smelt-test:pair/text#post-returns") (result i32)
    (global.get $posts)))
