"""Documents people upload: checked, re-encoded, stored encrypted."""
