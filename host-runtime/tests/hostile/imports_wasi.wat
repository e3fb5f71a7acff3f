(component
  (import "wasi:cli/environment@0.2.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (core module $m
    (func (export "f") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m))
  (func $admit (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (export "admit" (func $admit))
  (func $validate (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (export "validate-config" (func $validate)))
