"""Signals: what a named role must act on about a case, and the mails (without case content) that say so."""
