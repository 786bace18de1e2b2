"""Shared torch pieces for the neural generators."""
