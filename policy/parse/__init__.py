"""Checking a policy file, one module per section (`policy.schema.policy_parse` runs them).

`checker` holds what every section shares: the problems found, the key and type checks,
and the references the file may make (products and gates, stored or in the file).
"""
