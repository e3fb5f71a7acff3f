  (func (export "admit")
        (param $args i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 64))
