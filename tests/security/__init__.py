"""Attacks, each reproduced: what an outsider (a site visitor, a caller with a read key, a
model's answer) can send, and the bound or fence that stops it."""
