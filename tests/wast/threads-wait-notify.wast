;; memory.atomic.wait32/wait64 and memory.atomic.notify across real threads
;; (the threads proposal's `thread` and `wait` script commands): a waiter
;; sleeps until a notify at its address wakes it, a timeout expires, and
;; a notify wakes at most the waiters it is asked to.

(module $Mem
  (memory (export "shared") 1 1 shared)
)

;; A waiter woken by a notify returns 0 ("ok").
(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "wait") (i32.const 0))
)

(register "mem" $Mem)
(module $Main
  (memory (import "mem" "shared") 1 1 shared)
  ;; Notifies `addr` until `n` waiters have been woken, one at a time (a
  ;; waiter that has not queued yet is not woken: back off 0.1 ms, waiting
  ;; at an address nobody notifies, and try again).
  (func (export "wake") (param $addr i32) (param $n i32) (result i32)
    (local $woken i32) (local $total i32)
    (loop $again
      (local.set $woken (memory.atomic.notify (local.get $addr) (i32.const 1)))
      (if (i32.gt_u (local.get $woken) (i32.const 1)) (then unreachable))
      (local.set $total (i32.add (local.get $total) (local.get $woken)))
      (if (i32.lt_u (local.get $total) (local.get $n))
        (then
          (drop (memory.atomic.wait32 (i32.const 60000) (i32.const 0) (i64.const 100_000)))
          (br $again))))
    (local.get $total))
  (func (export "notify") (param $addr i32) (param $count i32) (result i32)
    (memory.atomic.notify (local.get $addr) (local.get $count)))
  (func (export "store64") (param $addr i32) (param $v i64)
    (i64.atomic.store (local.get $addr) (local.get $v)))
)
(assert_return (invoke $Main "wake" (i32.const 0) (i32.const 1)) (i32.const 1))
(wait $T1)
;; Nobody waits any more.
(assert_return (invoke $Main "notify" (i32.const 0) (i32.const -1)) (i32.const 0))

;; Three waiters at address 8 (wait64) and one at address 16: waking three
;; at 8 leaves the one at 16 asleep until it is woken in turn. The value
;; the wait64s expect is stored before they start.
(invoke $Main "store64" (i32.const 8) (i64.const 0x1122334455667788))
(thread $A (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait64 (i32.const 8) (i64.const 0x1122334455667788) (i64.const -1))))
  (assert_return (invoke "wait") (i32.const 0))
)
(thread $B (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait64 (i32.const 8) (i64.const 0x1122334455667788) (i64.const -1))))
  (assert_return (invoke "wait") (i32.const 0))
)
(thread $C (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait64 (i32.const 8) (i64.const 0x1122334455667788) (i64.const -1))))
  (assert_return (invoke "wait") (i32.const 0))
)
(thread $D (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 (i32.const 16) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "wait") (i32.const 0))
)
(assert_return (invoke $Main "wake" (i32.const 8) (i32.const 3)) (i32.const 3))
(wait $A)
(wait $B)
(wait $C)
(assert_return (invoke $Main "wake" (i32.const 16) (i32.const 1)) (i32.const 1))
(wait $D)

;; A timeout expires: 2 ("timed-out"), for both widths, also when a notify
;; at another address comes meanwhile.
(thread $Timeout (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait32") (result i32)
      (memory.atomic.wait32 (i32.const 24) (i32.const 0) (i64.const 20_000_000)))
    (func (export "wait64") (result i32)
      (memory.atomic.wait64 (i32.const 32) (i64.const 0) (i64.const 1_000_000))))
  (assert_return (invoke "wait32") (i32.const 2))
  (assert_return (invoke "wait64") (i32.const 2))
)
(assert_return (invoke $Main "notify" (i32.const 28) (i32.const -1)) (i32.const 0))
(wait $Timeout)

;; Not-equal returns 1 at once; a zero timeout returns 2 at once.
(module
  (memory 1 1 shared)
  (data (i32.const 0) "\01\00\00\00\00\00\00\00")
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait32_offset") (param i32) (result i32)
    (memory.atomic.wait32 offset=4 (local.get 0) (i32.const 0) (i64.const 0)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "notify_offset") (param i32) (result i32)
    (memory.atomic.notify offset=65532 (local.get 0) (i32.const 1)))
)
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const -1)) (i32.const 1))
(assert_return (invoke "wait64" (i32.const 0) (i64.const 0) (i64.const -1)) (i32.const 1))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait64" (i32.const 0) (i64.const 1) (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait32_offset" (i32.const 0)) (i32.const 2))
(assert_return (invoke "notify" (i32.const 0) (i32.const 0)) (i32.const 0))
;; Misaligned or out of bounds: traps, misalignment first.
(assert_trap (invoke "wait32" (i32.const 2) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "wait64" (i32.const 4) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "notify" (i32.const 1) (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "wait32_offset" (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "wait32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait64" (i32.const 65532) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_return (invoke "wait64" (i32.const 65528) (i64.const 1) (i64.const 0)) (i32.const 1))
(assert_trap (invoke "wait64" (i32.const 65536) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_return (invoke "wait64" (i32.const 65528) (i64.const 0) (i64.const 0)) (i32.const 2))
(assert_trap (invoke "notify" (i32.const -4) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "wait32" (i32.const -3) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_return (invoke "notify_offset" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "notify_offset" (i32.const 4)) "out of bounds memory access")

;; A memory that is not shared: a wait traps (after the alignment and
;; bounds checks), a notify wakes nobody.
(module
  (memory 1 1)
  (func (export "wait32") (param i32) (result i32)
    (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))
  (func (export "wait64") (param i32) (result i32)
    (memory.atomic.wait64 (local.get 0) (i64.const 0) (i64.const 0)))
  (func (export "notify") (param i32) (result i32)
    (memory.atomic.notify (local.get 0) (i32.const -1)))
)
(assert_trap (invoke "wait32" (i32.const 0)) "expected shared memory")
(assert_trap (invoke "wait64" (i32.const 8)) "expected shared memory")
(assert_trap (invoke "wait32" (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "wait64" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "notify" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "notify" (i32.const 2)) "unaligned atomic")
(assert_trap (invoke "notify" (i32.const 65536)) "out of bounds memory access")

;; memory64: the same checks with 64-bit addresses.
(module
  (memory i64 1 1 shared)
  (func (export "wait32") (param i64 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64_offset") (param i64) (result i32)
    (memory.atomic.wait64 offset=0xffff_ffff_ffff_fff8 (local.get 0) (i64.const 0) (i64.const 0)))
  (func (export "notify") (param i64 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
)
(assert_return (invoke "wait32" (i64.const 65532) (i32.const 0) (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait32" (i64.const 0) (i32.const 1) (i64.const -1)) (i32.const 1))
(assert_trap (invoke "wait32" (i64.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait32" (i64.const 0x1_0000_0000) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait32" (i64.const -1) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "wait32" (i64.const -4) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait64_offset" (i64.const 8)) "out of bounds memory access")
(assert_trap (invoke "wait64_offset" (i64.const 4)) "unaligned atomic")
(assert_return (invoke "notify" (i64.const 0) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "notify" (i64.const 65536) (i32.const 1)) "out of bounds memory access")
