"""A customer's data on request (GDPR articles 15, 17 and 20) and retention: export, erasure, anonymisation."""
