"""What wave-sdk provides itself, registered as an ordinary plugin named ``wave_sdk.builtin``."""
