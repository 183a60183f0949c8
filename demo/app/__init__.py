"""Demo backend that uses ferrokey (or any Valkey server) for caching,
sessions, rate limiting, a task queue and notifications."""
