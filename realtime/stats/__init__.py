"""Statistics per application, and the Prometheus endpoint.

* counts: what this process counted (plain integers, cheap on the message path);
* listener: the notices it counts (realtime.notifications);
* store: per-minute and per-day figures shared by every process (Redis with REDIS_URL,
  this process's memory when embedded);
* flusher: each process's background task that writes what it counted to the store;
* report: what the dashboard shows, read from the store;
* views, metrics: the dashboard's statistics pages and /metrics.
"""
