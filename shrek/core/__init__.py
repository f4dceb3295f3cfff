"""What SHREK means, free of I/O policy: the model and its step graph, schemas, YAML with
positions, validation, the freeze file, records, ledgers, labels. Prints nothing."""
