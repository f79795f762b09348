"""wave-sdk's S3 state store: one bucket shared by a team (``[state] store = "s3"``).

Importing this package imports nothing heavy: :mod:`wave_sdk_s3.plugin` announces the store
by name, and boto3 is imported only when the store first talks to the bucket
(:mod:`wave_sdk_s3.bucket`). See docs/plugins/s3.md.
"""

__version__ = "0.1.0"
