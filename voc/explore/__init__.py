"""The response explorer: filtering, paging and exporting responses, and one customer's story."""
