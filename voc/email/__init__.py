"""E-mail invitations: the SMTP channel, the message, one reminder, and unsubscribing."""
