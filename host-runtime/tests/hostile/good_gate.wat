;; admit: every candidate admitted (the lowered candidate list of host-ids is returned as is).
;; A gate input flattens to more than 16 values, so `admit` gets one pointer to its
;; arguments in memory: the configuration at 0, the gate input at 8 (`now` at 8, the
;; candidates' pointer and length at 16 and 20, the snapshot from 24). The verdict
;; (admitted, refused, reasons: three lists) is returned through the area at 64.
  (func (export "admit") (param $args i32) (result i32)
    (i32.store (i32.const 64) (i32.load offset=16 (local.get $args)))
    (i32.store (i32.const 68) (i32.load offset=20 (local.get $args)))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.store (i32.const 76) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 0))
    (i32.store (i32.const 84) (i32.const 0))
    (i32.const 64))
