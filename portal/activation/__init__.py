"""Activation: codes a doctor or the fund issues, the steps of the flow, identity checks."""
