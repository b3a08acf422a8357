"""Use cases over one tenant's state: no HTTP, no globals, time from the tenant clock."""
