"""Messages that leave the portal: SMS and e-mail."""
