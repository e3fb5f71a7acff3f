  ;; Grows by 16 pages (1 MiB) forever; a -1 from memory.grow would also end up here again.
  (func (export "admit")
        (param i32 i32 i64 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (loop $more
      (drop (memory.grow (i32.const 16)))
      (br $more))
    (i32.const 64))
