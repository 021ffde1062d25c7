"""The help desk: people write to their fund ("Contact the fund"), staff of that fund answer."""
