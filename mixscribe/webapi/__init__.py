"""The HTTPS API for web clients (served by ``functions/api``)."""
