;; Real parallelism: threads of the script run on their own OS threads at
;; once, contend for one shared memory, and each keeps its own instances,
;; stack limit and traps.

(module $Mem
  (memory (export "shared") 1 10 shared)
)
(register "mem" $Mem)

;; Each thread instantiates the same counter module for itself (a thread
;; sees only the instance it shares): atomic increments of several widths,
;; and plain increments under a spin lock made of compare-exchange. The
;; four start together, so they overlap.
(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "run") (param $n i32)
      ;; start together: count in at 40, spin until all four are in
      (drop (i32.atomic.rmw.add (i32.const 40) (i32.const 1)))
      (loop $barrier
        (br_if $barrier (i32.lt_u (i32.atomic.load (i32.const 40)) (i32.const 4))))
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 0x1_0000_0001)))
        (drop (i32.atomic.rmw16.sub_u (i32.const 16) (i32.const 1)))
        (drop (i32.atomic.rmw8.add_u (i32.const 18) (i32.const 3)))
        ;; lock: 0 -> 1 at 128, spinning while another thread holds it; the
        ;; counters it guards are in another cache line, at 256 and 264
        (loop $spin
          (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 128) (i32.const 0) (i32.const 1))))
        (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
        (i64.store (i32.const 264) (i64.add (i64.load (i32.const 264)) (i64.const 2)))
        (i32.atomic.store (i32.const 128) (i32.const 0))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (invoke "run" (i32.const 20000))
)
(thread $T2 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "run") (param $n i32)
      ;; start together: count in at 40, spin until all four are in
      (drop (i32.atomic.rmw.add (i32.const 40) (i32.const 1)))
      (loop $barrier
        (br_if $barrier (i32.lt_u (i32.atomic.load (i32.const 40)) (i32.const 4))))
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 0x1_0000_0001)))
        (drop (i32.atomic.rmw16.sub_u (i32.const 16) (i32.const 1)))
        (drop (i32.atomic.rmw8.add_u (i32.const 18) (i32.const 3)))
        ;; lock: 0 -> 1 at 128, spinning while another thread holds it; the
        ;; counters it guards are in another cache line, at 256 and 264
        (loop $spin
          (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 128) (i32.const 0) (i32.const 1))))
        (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
        (i64.store (i32.const 264) (i64.add (i64.load (i32.const 264)) (i64.const 2)))
        (i32.atomic.store (i32.const 128) (i32.const 0))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (invoke "run" (i32.const 20000))
)
(thread $T3 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "run") (param $n i32)
      ;; start together: count in at 40, spin until all four are in
      (drop (i32.atomic.rmw.add (i32.const 40) (i32.const 1)))
      (loop $barrier
        (br_if $barrier (i32.lt_u (i32.atomic.load (i32.const 40)) (i32.const 4))))
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 0x1_0000_0001)))
        (drop (i32.atomic.rmw16.sub_u (i32.const 16) (i32.const 1)))
        (drop (i32.atomic.rmw8.add_u (i32.const 18) (i32.const 3)))
        ;; lock: 0 -> 1 at 128, spinning while another thread holds it; the
        ;; counters it guards are in another cache line, at 256 and 264
        (loop $spin
          (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 128) (i32.const 0) (i32.const 1))))
        (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
        (i64.store (i32.const 264) (i64.add (i64.load (i32.const 264)) (i64.const 2)))
        (i32.atomic.store (i32.const 128) (i32.const 0))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
  (invoke "run" (i32.const 20000))
)
(module
  (memory (import "mem" "shared") 1 10 shared)
  (func (export "run") (param $n i32)
    ;; start together: count in at 40, spin until all four are in
    (drop (i32.atomic.rmw.add (i32.const 40) (i32.const 1)))
    (loop $barrier
      (br_if $barrier (i32.lt_u (i32.atomic.load (i32.const 40)) (i32.const 4))))
    (loop $more
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 0x1_0000_0001)))
      (drop (i32.atomic.rmw16.sub_u (i32.const 16) (i32.const 1)))
      (drop (i32.atomic.rmw8.add_u (i32.const 18) (i32.const 3)))
      ;; lock: 0 -> 1 at 128, spinning while another thread holds it; the
        ;; counters it guards are in another cache line, at 256 and 264
      (loop $spin
        (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 128) (i32.const 0) (i32.const 1))))
      (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
      (i64.store (i32.const 264) (i64.add (i64.load (i32.const 264)) (i64.const 2)))
      (i32.atomic.store (i32.const 128) (i32.const 0))
      (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
(invoke "run" (i32.const 20000))
(wait $T1)
(wait $T2)
(wait $T3)

(module $Check
  (memory (import "mem" "shared") 1 10 shared)
  (func (export "i32") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "i64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "u16") (param i32) (result i32) (i32.atomic.load16_u (local.get 0)))
  (func (export "u8") (param i32) (result i32) (i32.atomic.load8_u (local.get 0)))
)
;; 4 threads x 20000 iterations, nothing lost.
(assert_return (invoke $Check "i32" (i32.const 0)) (i32.const 80000))
(assert_return (invoke $Check "i64" (i32.const 8)) (i64.const 0x1_3880_0001_3880))
;; 16-bit: -80000 mod 65536; 8-bit: 240000 mod 256.
(assert_return (invoke $Check "u16" (i32.const 16)) (i32.const 51072))
(assert_return (invoke $Check "u8" (i32.const 18)) (i32.const 128))
(assert_return (invoke $Check "u8" (i32.const 19)) (i32.const 0))
;; The lock made the plain increments exclusive.
(assert_return (invoke $Check "i32" (i32.const 128)) (i32.const 0))
(assert_return (invoke $Check "i32" (i32.const 256)) (i32.const 80000))
(assert_return (invoke $Check "i64" (i32.const 264)) (i64.const 160000))

;; Message passing: a producer writes data with plain stores, then
;; publishes a flag and notifies; the consumer waits for the flag, then
;; reads the data.
(thread $Producer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "produce")
      (local $i i32)
      (loop $fill
        (i32.store offset=1024 (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $i) (i32.const 7)))
        (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))
      (i32.atomic.store (i32.const 64) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 64) (i32.const -1)))))
  (invoke "produce")
)
(thread $Consumer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "consume") (result i32)
      (local $i i32) (local $sum i32)
      (loop $wait
        (if (i32.eqz (i32.atomic.load (i32.const 64)))
          (then
            (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))
            (br $wait))))
      (loop $sum
        (local.set $sum (i32.add (local.get $sum)
          (i32.load offset=1024 (i32.shl (local.get $i) (i32.const 2)))))
        (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))
      (local.get $sum)))
  ;; 7 * (0 + 1 + ... + 999)
  (assert_return (invoke "consume") (i32.const 3496500))
)
(wait $Producer)
(wait $Consumer)

;; Two threads grow the shared memory at once: every page is handed out
;; once (the old sizes the two threads get add up to 1+2+...+8), and both
;; see the final size.
(thread $G1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 10 shared)
    (func (export "grow") (param $n i32) (result i32)
      (local $sum i32)
      (loop $more
        (local.set $sum (i32.add (local.get $sum) (memory.grow (i32.const 1))))
        (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (drop (i32.atomic.rmw.add (i32.const 48) (local.get $sum)))
      (local.get $sum))
    (func (export "size") (result i32) (memory.size))
    (func (export "touch") (param i32) (result i32)
      (i32.atomic.rmw.add (i32.sub (i32.shl (local.get 0) (i32.const 16)) (i32.const 4)) (i32.const 1))))
  (invoke "grow" (i32.const 4))
)
(module $G0
  (memory (import "mem" "shared") 1 10 shared)
  (func (export "grow") (param $n i32) (result i32)
    (local $sum i32)
    (loop $more
      (local.set $sum (i32.add (local.get $sum) (memory.grow (i32.const 1))))
      (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (drop (i32.atomic.rmw.add (i32.const 48) (local.get $sum)))
    (local.get $sum))
  (func (export "size") (result i32) (memory.size))
  (func (export "touch") (param i32) (result i32)
    (i32.atomic.rmw.add (i32.sub (i32.shl (local.get 0) (i32.const 16)) (i32.const 4)) (i32.const 1))))
(invoke $G0 "grow" (i32.const 4))
(wait $G1)
(assert_return (invoke $G0 "size") (i32.const 9))
(assert_return (invoke $Check "i32" (i32.const 48)) (i32.const 36))
(assert_return (invoke $G0 "touch" (i32.const 9)) (i32.const 0))
(assert_trap (invoke $G0 "touch" (i32.const 10)) "out of bounds memory access")
(assert_return (invoke $G0 "grow" (i32.const 1)) (i32.const 9))
(assert_return (invoke $G0 "grow" (i32.const 1)) (i32.const -1))

;; Traps stay on their thread: a thread's stack overflow and unreachable
;; are its own outcomes (its own stack limit, from its own stack), and the
;; main thread goes on.
(thread $Trapper
  (module
    (func $down (param i64) (result i64)
      (i64.add (local.get 0) (call $down (i64.add (local.get 0) (i64.const 1)))))
    (func (export "overflow") (result i64) (call $down (i64.const 0)))
    (func (export "deep") (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n))
        (then (i32.const 0))
        (else (i32.add (i32.const 1) (call 2 (i32.sub (local.get $n) (i32.const 1)))))))
    (func (export "unreachable") unreachable))
  (assert_exhaustion (invoke "overflow") "call stack exhausted")
  (assert_return (invoke "deep" (i32.const 10000)) (i32.const 10000))
  (assert_trap (invoke "unreachable") "unreachable")
  (assert_exhaustion (invoke "overflow") "call stack exhausted")
)
(module
  (func $down (param i64) (result i64)
    (i64.add (local.get 0) (call $down (i64.add (local.get 0) (i64.const 1)))))
  (func (export "overflow") (result i64) (call $down (i64.const 0)))
  (func (export "ok") (result i32) (i32.const 1)))
(assert_exhaustion (invoke "overflow") "call stack exhausted")
(wait $Trapper)
(assert_return (invoke "ok") (i32.const 1))
