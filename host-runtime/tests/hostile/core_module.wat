(module
  (func (export "admit") (result i32) (i32.const 0)))
