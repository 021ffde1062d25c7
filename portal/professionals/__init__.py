"""Doctors' and the fund's staff accounts, which an operator or an administrator creates,
unlocks, suspends and closes. Above activation: closing a doctor's account revokes the
activation codes they issued and nobody has redeemed yet."""
