"""Reliability: workers killed mid-batch, store outages, faulty PostHog answers and damaged
recordings; nothing is lost or done twice, and the figures are printed at the end."""
