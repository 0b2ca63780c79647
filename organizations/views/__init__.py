"""Server-rendered web UI, one module per noun. URLs are in organizations.urls."""
