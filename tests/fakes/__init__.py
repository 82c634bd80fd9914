"""Local stand-ins, named as fakes, for services that cannot run here (Stripe...)."""
