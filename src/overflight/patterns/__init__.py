"""patterns stage."""
