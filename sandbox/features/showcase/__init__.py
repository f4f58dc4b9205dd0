"""Showcase: every registered layer side by side, and a log of what each delivered."""
