"""Secrets at rest: MultiFernet over `CHOM_ENCRYPTION_KEYS` (newest key first)."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class SecretBox:
    """Encrypts with the newest key; decrypts with any listed key."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_config(cls, config, instance_path: Path) -> SecretBox:
        keys = [k.strip() for k in (config.get("CHOM_ENCRYPTION_KEYS") or "").split(",")]
        keys = [k for k in keys if k]
        if not keys:
            # Embedded default: one key generated into the instance folder, never committed.
            path = instance_path / "encryption_key"
            if not path.exists():
                instance_path.mkdir(parents=True, exist_ok=True)
                path.write_text(Fernet.generate_key().decode())
                path.chmod(0o600)
            keys = [path.read_text().strip()]
        return cls(keys)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(token.encode()).decode()
