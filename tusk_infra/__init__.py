"""tusk-infra: one application across many AWS regions from one TuskLang file, on Pulumi."""

__version__ = "0.1.0"
