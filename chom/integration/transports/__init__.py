"""Built-in transports, registered as plugins through `chom_register_transports`."""
