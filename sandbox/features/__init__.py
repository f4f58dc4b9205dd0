"""The sandbox's features, one package each: consumers, routes and a page."""
