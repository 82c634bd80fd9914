"""Local HTTP servers standing in for services that cannot be installed here (named as fakes):
each implements the documented endpoints CHOM calls, with their documented shapes."""
