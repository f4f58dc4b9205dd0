"""System echo: a consumer that needs no channel layer."""
