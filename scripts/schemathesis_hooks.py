"""Schemathesis hooks for `make check-api` (loaded through SCHEMATHESIS_HOOKS): how to send tus PATCH bodies."""
import schemathesis

# A tus PATCH body is raw bytes; schemathesis has no serializer for this media type of its own.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
