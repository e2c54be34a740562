"""Pure functions over the model: no I/O, no Textual, no kubernetes, no boto3.

- `trust`     IAM trust-policy evaluation (shared with the lab's STS): `evaluate_trust`.
- `tokens`    service-account JWTs: `decode_token`, `verify_signature`, `mask_signature`; the one
              pattern of a JWT and of an access key ID in any text: `mask_tokens`, `mask_signatures`,
              `mask_keys` (every writer of logs, reports, errors and screens uses these).
- `identity`  who a pod really is: `resolve_chain`, `resolve_all`, `ChainResolver` — the chain,
              each link with its typed result (model.ExpectedToken, ProviderCheck, TrustCheck,
              EffectiveIdentity), built from
  `credentials` what each container's SDK finds and the tokens the pod projects (`expected_token`),
  `mechanisms`  the links after the token for IRSA, Pod Identity, static keys and the node role.
- `findings`  the catalogue of stable finding codes and the builders that fill them in.
- `reverse`   who can assume a role: `who_can_assume`.
- `arns`      the one IAM ARN parser (role ARNs, accounts, STS session ARNs).
"""
