;; A core WebAssembly command: finds the start below 100000 with the
;; longest Collatz sequence, and traps with a wasm backtrace if the
;; answer is not the known one (77031, 351 steps).
(module
  (func $steps (param $n i64) (result i32)
    (local $count i32)
    (block $done
      (loop $next
        (br_if $done (i64.eq (local.get $n) (i64.const 1)))
        (local.set $n
          (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
            (then (i64.shr_u (local.get $n) (i64.const 1)))
            (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $next)))
    (local.get $count))
  (func $longest (result i64)
    (local $i i64) (local $best i64) (local $best_steps i32) (local $s i32)
    (local.set $i (i64.const 1))
    (loop $each
      (local.set $s (call $steps (local.get $i)))
      (if (i32.gt_u (local.get $s) (local.get $best_steps))
        (then (local.set $best (local.get $i)) (local.set $best_steps (local.get $s))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $each (i64.lt_u (local.get $i) (i64.const 100000))))
    (local.get $best))
  (func $check (param $answer i64)
    (if (i64.ne (local.get $answer) (i64.const 77031)) (then unreachable)))
  (func (export "_start") (call $check (call $longest))))
