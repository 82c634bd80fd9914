"""RQ job functions: thin, they take ids, load fresh rows and call a service."""
