"""One module per `verify` subcommand; each defines register(app)."""
