"""Room chat over the "chat" Redis pub/sub layer."""
