"""Claims: sharing invoices with the fund, the fund's review and decisions, statements, statistics."""
