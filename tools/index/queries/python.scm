; Python tags: definitions, the names code calls or inherits from, and imports.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

(call function: [(identifier) @reference (attribute attribute: (identifier) @reference)])
(class_definition superclasses: (argument_list [(identifier) @reference (attribute attribute: (identifier) @reference)]))

(import_statement name: [(dotted_name) @import.from (aliased_import name: (dotted_name) @import.from)])
(import_from_statement
  module_name: (_) @import.from
  name: [(dotted_name) @import.name (aliased_import name: (dotted_name) @import.name)])
(import_from_statement module_name: (_) @import.from (wildcard_import) @import.name)
