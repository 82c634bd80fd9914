"""Local stand-ins for services that cannot be installed here, speaking their documented wire
formats (each named as a fake)."""
