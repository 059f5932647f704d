; JavaScript tags (also the base for TypeScript's extras).
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (identifier) @name) @definition.class
(method_definition name: [(property_identifier) (private_property_identifier)] @name) @definition.method
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @definition.function
(assignment_expression
  left: (member_expression property: (property_identifier) @name)
  right: [(arrow_function) (function_expression)]) @definition.function

(call_expression function: [(identifier) @reference (member_expression property: (property_identifier) @reference)])
(new_expression constructor: [(identifier) @reference (member_expression property: (property_identifier) @reference)])
(class_heritage (identifier) @reference)

(import_statement source: (string (string_fragment) @import.from))
(import_statement
  (import_clause (named_imports (import_specifier name: (identifier) @import.name)))
  source: (string (string_fragment) @import.from))
(call_expression
  function: (identifier) @_require (#eq? @_require "require")
  arguments: (arguments (string (string_fragment) @import.from)))
