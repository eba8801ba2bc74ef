"""The sandbox: a deterministic simulated cluster driven by a real demand trace."""
