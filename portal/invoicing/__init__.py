"""Invoices: the nomenclature, the rules a draft meets, issuing, numbering, the reimbursement arithmetic, the invoice PDF."""
