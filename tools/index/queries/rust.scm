; Rust tags. An `impl Type` block is a scope, so its functions are `Type.method`.
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.class
(union_item name: (type_identifier) @name) @definition.class
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.interface
(type_item name: (type_identifier) @name) @definition.type
(mod_item name: (identifier) @name body: (_)) @definition.module
(macro_definition name: (identifier) @name) @definition.macro
(impl_item
  type: [(type_identifier) @scope.name
         (generic_type type: (type_identifier) @scope.name)
         (scoped_type_identifier name: (type_identifier) @scope.name)]) @scope

(call_expression function: [(identifier) @reference
                            (field_expression field: (field_identifier) @reference)
                            (scoped_identifier name: (identifier) @reference)])
(macro_invocation macro: (identifier) @reference)
(struct_expression name: (type_identifier) @reference)

(use_declaration argument: (_) @import.from)
