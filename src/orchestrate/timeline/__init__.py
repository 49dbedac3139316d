"""The timeline: the event log of every capability, listed, streamed live and tailed."""
