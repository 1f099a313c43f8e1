"""The task catalogue. Every module in this package that defines `CASES` (a list of Case
records) contributes them; adding a case is adding one file here."""
