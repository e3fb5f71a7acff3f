  ;; One 1 MiB string at 1 MiB, and a reason table of 1,000,000 entries (ptr, len) that
  ;; all point at it: ~9 MiB of guest memory that would lift into ~1 TiB of host strings.
  (func (export "admit") (param $args i32) (result i32)
    (local $i i32) (local $list i32) (local $at i32)
    (drop (memory.grow (i32.const 160)))            ;; 10 MiB + 64 KiB in total
    (memory.fill (i32.const 0x100000) (i32.const 0x61) (i32.const 0x100000)) ;; "aaaa…"
    (local.set $list (i32.const 0x200000))
    (loop $fill
      (local.set $at (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 8))))
      (i32.store (local.get $at) (i32.const 0x100000))
      (i32.store (i32.add (local.get $at) (i32.const 4)) (i32.const 0x100000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1000000))))
    (i32.store (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 0))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.store (i32.const 76) (i32.const 0))
    (i32.store (i32.const 80) (local.get $list))
    (i32.store (i32.const 84) (i32.const 1000000))
    (i32.const 64))
