"""The role blueprints: thin views over the domain (parse the form, call one operation, render)."""
