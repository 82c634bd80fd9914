"""Mail jobs: ids in, a service call, nothing else."""

from chom.services import password_reset


def send_password_reset(user_id: str) -> None:
    """Email a fresh password-reset link to the user."""
    password_reset.send_reset_email(user_id)
