"""Pure functions over the model: no I/O, no Textual, no kubernetes, no boto3.

- `trust`     IAM trust-policy evaluation (shared with the lab's STS): `evaluate_trust`.
- `tokens`    service-account JWTs: `decode_token`, `verify_signature`, `mask_signature`.
- `identity`  who a pod really is: `expected_token`, `resolve_chain`, `resolve_all`.
- `findings`  the catalogue of stable finding codes and the builders that fill them in.
- `reverse`   who can assume a role: `who_can_assume`.
- `arns`      IAM role ARN parsing.
"""
