"""Follow-up of unhappy customers: cases opened by rules when an analysis is stored, worked by analysts."""
