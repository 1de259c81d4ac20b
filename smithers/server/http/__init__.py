"""The HTTP edge: the pre-router, authentication, body limits and decoding, request checks,
response bodies, errors and the OpenAPI document."""
