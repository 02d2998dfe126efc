"""The rule language: validating, compiling, reading and explaining definitions, a module per condition."""
