"""The weekly digest: an e-mail to the users who chose it, with last week's overview figures, their intervals,
the top key drivers and the follow-up queue, sent once per user and week by the worker."""
