pytest_plugins = ["wave_sdk.testing.plugin"]
