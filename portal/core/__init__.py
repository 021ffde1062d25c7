"""What every request needs, and nothing above it: database, clock, i18n, htmx, headers, inbound checks, assets, forms, numbers, PDF and chart drawing, the domain's error types."""
