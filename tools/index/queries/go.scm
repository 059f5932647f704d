; Go tags. A method's receiver type becomes its scope, so `func (f *Foo) Bar()` is `Foo.Bar`.
(function_declaration name: (identifier) @name) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration
    type: [(type_identifier) @receiver
           (pointer_type [(type_identifier) @receiver (generic_type type: (type_identifier) @receiver)])
           (generic_type type: (type_identifier) @receiver)]))
  name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.class
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.method

(call_expression function: [(identifier) @reference (selector_expression field: (field_identifier) @reference)])
(composite_literal type: (type_identifier) @reference)

(import_spec path: (interpreted_string_literal) @import.from)
