"""One module per policy; each exposes POLICY, a tusk_policy.model.PolicyDefinition."""
