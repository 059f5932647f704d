; Java tags.
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method

(method_invocation name: (identifier) @reference)
(object_creation_expression type: (type_identifier) @reference)
(superclass (type_identifier) @reference)
(super_interfaces (type_list (type_identifier) @reference))

(import_declaration [(scoped_identifier) (identifier)] @import.from)
