"""Customers' data rights: a complete export of what voc holds about a contact, and its erasure."""
