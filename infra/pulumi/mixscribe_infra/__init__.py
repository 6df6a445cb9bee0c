"""mixscribe's Google Cloud resources: one ComponentResource per concern (see program.build)."""
